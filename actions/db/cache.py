"""Read-through cache in Redis for read-heavy data (catalog listings, the sales summary).

Keys carry the shop's cache version (commerce.cache_versions), which a trigger moves on at every
write to its products, orders or payments: a write is visible on the very next read, and entries
under old versions simply expire.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.db import tables as t

log = logging.getLogger("cache")
T = TypeVar("T")
TTL_SECONDS = 600


class ReadCache:
    def __init__(self, redis: Redis, prefix: str = "cache") -> None:
        self.redis = redis
        self.prefix = prefix

    async def fetch(
        self,
        session: AsyncSession,
        tenant_id: int,
        name: str,
        load: Callable[[], Awaitable[T]],
        encode: Callable[[T], Any],
        decode: Callable[[Any], T],
    ) -> T:
        """The cached value of `name` for this shop's current version, else `load()` (then cached).
        Redis being down costs speed, never correctness: the database answers."""
        version = await session.scalar(select(t.CacheVersion.version).where(t.CacheVersion.tenant_id == tenant_id))
        key = f"{self.prefix}:{tenant_id}:v{version or 0}:{name}"
        try:
            cached = await self.redis.get(key)
        except RedisError as e:
            log.warning("cache unavailable, reading from the database: %s", e)
            return await load()
        if cached is not None:
            return decode(json.loads(cached))
        value = await load()
        try:
            await self.redis.set(key, json.dumps(encode(value)), ex=TTL_SECONDS)
        except RedisError as e:
            log.warning("cache unavailable, not stored: %s", e)
        return value
