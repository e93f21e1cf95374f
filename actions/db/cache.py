"""Read-through cache in Redis for read-heavy data (catalog listings, the sales summary).

Keys carry the shop's cache version: its epoch and the number of transactions that wrote its
products, categories, orders or payments so far. A trigger notes each such transaction as a row
of commerce.cache_changes, visible exactly when the transaction commits, and the version is read in
one statement (one snapshot) before the data: a write is visible on the very next read, and entries
under old versions simply expire. Writers only insert, so no transaction waits for another to move
a shop's version (revision 0006); the worker folds the rows into commerce.cache_bases now and then
(`compact`), which leaves every version as it was.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("cache")
T = TypeVar("T")
TTL_SECONDS = 600

VERSION = text(
    "SELECT base.epoch, base.changes"
    " + (SELECT count(*) FROM commerce.cache_changes AS c WHERE c.tenant_id = base.tenant_id)"
    " FROM commerce.cache_bases AS base WHERE base.tenant_id = :tenant"
)


async def version(session: AsyncSession, tenant_id: int) -> str | None:
    """The shop's cache version, `<epoch>.<changes>`; None for a shop without a base row (not cached)."""
    row = (await session.execute(VERSION, {"tenant": tenant_id})).first()
    return f"{row[0]}.{row[1]}" if row else None


async def compact(session: AsyncSession) -> int:
    """Fold the change rows into the shops' bases (versions stay as they are); the rows folded."""
    return await session.scalar(text("SELECT commerce.compact_cache_changes()"))


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
        current = await version(session, tenant_id)
        if current is None:
            return await load()
        key = f"{self.prefix}:{tenant_id}:v{current}:{name}"
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
