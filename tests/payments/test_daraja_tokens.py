import asyncio

import httpx
import pytest

from actions.payments.mpesa import DarajaClient, DarajaError, TokenCache
from tests.payments.providers import basic_auth, daraja_config, mpesa


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_ten_concurrent_callers_share_one_token_request(daraja, daraja_http):
    daraja.token_delay = 0.05
    cache = TokenCache()
    tokens = await asyncio.gather(*(cache.token(daraja_config(), daraja_http) for _ in range(10)))
    assert len(daraja.token_requests) == 1
    assert set(tokens) == {"token-1"}


async def test_the_token_is_asked_for_with_basic_auth_and_client_credentials(daraja, daraja_http):
    await TokenCache().token(daraja_config(), daraja_http)
    request = daraja.token_requests[0]
    assert request.method == "GET"
    assert request.url.params["grant_type"] == "client_credentials"
    assert basic_auth(request) == "consumer-key-1:consumer-secret-1"


@pytest.mark.parametrize("expires_in", [3599, "3599"])
async def test_the_token_is_reused_until_a_minute_before_it_expires_then_refreshed(daraja, daraja_http, expires_in):
    daraja.expires_in = expires_in
    clock = Clock()
    cache = TokenCache(refresh_margin=60, clock=clock)
    config = daraja_config()
    assert await cache.token(config, daraja_http) == "token-1"
    clock.now += 3599 - 61
    assert await cache.token(config, daraja_http) == "token-1"
    clock.now += 2
    assert await cache.token(config, daraja_http) == "token-2"
    assert len(daraja.token_requests) == 2


async def test_a_short_lived_token_is_still_used_for_half_its_life(daraja, daraja_http):
    daraja.expires_in = 40
    clock = Clock()
    cache = TokenCache(refresh_margin=60, clock=clock)
    await cache.token(daraja_config(), daraja_http)
    clock.now += 19
    await cache.token(daraja_config(), daraja_http)
    assert len(daraja.token_requests) == 1
    clock.now += 2
    await cache.token(daraja_config(), daraja_http)
    assert len(daraja.token_requests) == 2


async def test_each_credential_set_has_its_own_token(daraja, daraja_http):
    cache = TokenCache()
    first = await cache.token(daraja_config(), daraja_http)
    other_key = await cache.token(daraja_config(consumer_key="consumer-key-2"), daraja_http)
    other_host = await cache.token(daraja_config(base_url="https://sandbox.test"), daraja_http)
    again = await cache.token(daraja_config(shortcode="600000"), daraja_http)  # same credentials, same token
    assert len({first, other_key, other_host}) == 3
    assert again == first
    assert len(daraja.token_requests) == 3


def token_answer_without(key: str) -> dict:
    answer = mpesa("oauth_token_response")
    del answer[key]
    return answer


@pytest.mark.parametrize(
    "answer",
    [
        token_answer_without("access_token"),
        token_answer_without("expires_in"),
        mpesa("oauth_token_response") | {"expires_in": "soon"},
        mpesa("oauth_token_response") | {"access_token": ""},
    ],
)
async def test_an_unreadable_token_answer_is_a_daraja_error(answer):
    async def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answer)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as http:
        with pytest.raises(DarajaError) as caught:
            await TokenCache().token(daraja_config(), http)
    assert caught.value.code == "invalid_response"


async def test_a_token_daraja_calls_invalid_is_replaced_and_the_call_tried_once_more(daraja, daraja_http, money):
    client = DarajaClient(daraja_config(), daraja_http, TokenCache())
    await client.stk_push(money, "0712345678", "ORD-1", "Order ORD-1")
    daraja.invalidate_token()
    accepted = await client.stk_push(money, "0712345678", "ORD-1", "Order ORD-1")
    assert accepted.checkout_request_id
    assert len(daraja.token_requests) == 2


async def test_a_second_invalid_token_in_a_row_is_an_error(daraja, daraja_http, money):
    class Stale(TokenCache):
        async def token(self, config, http):
            return "stale-token"

    client = DarajaClient(daraja_config(), daraja_http, Stale())
    with pytest.raises(DarajaError) as caught:
        await client.stk_push(money, "0712345678", "ORD-1", "Order ORD-1")
    assert caught.value.code == "404.001.03"
