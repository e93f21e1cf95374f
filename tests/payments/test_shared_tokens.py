"""One Daraja token for every process, through real Redis: two 'processes' (caches) never knock each other out."""

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from actions.payments.mpesa import DarajaClient
from actions.payments.shared_tokens import SharedTokenCache
from tests.payments.providers import daraja_config


@pytest.fixture
async def caches(services):
    config = daraja_config(consumer_key=f"key-{uuid.uuid4().hex[:8]}")  # a credential set of this test's own
    first = SharedTokenCache(Redis.from_url(services.redis_url))
    second = SharedTokenCache(Redis.from_url(services.redis_url))
    yield config, first, second
    await first._redis.delete(first._key(config))
    await first._redis.aclose()
    await second._redis.aclose()


async def test_concurrent_callers_in_two_processes_share_one_token(caches, daraja, daraja_http, money):
    config, first, second = caches
    tokens = await asyncio.gather(*(cache.token(config, daraja_http) for cache in (first, second) for _ in range(5)))
    assert len(set(tokens)) == 1
    assert len(daraja.token_requests) == 1
    await DarajaClient(config, daraja_http, second).stk_push(money, "0712345678", "ORD-1", "Order ORD-1")


async def test_a_refused_token_is_replaced_once_for_every_process(caches, daraja, daraja_http, money):
    config, first, second = caches
    old = await first.token(config, daraja_http)
    daraja.invalidate_token()
    await DarajaClient(config, daraja_http, first).stk_push(money, "0712345678", "ORD-1", "Order ORD-1")
    renewed = await second.token(config, daraja_http)
    assert renewed != old and len(daraja.token_requests) == 2
    await second.forget(config, old)  # a late "forget" of the old token must not drop the new one
    assert await first.token(config, daraja_http) == renewed
