"""Daraja tokens shared through Redis by every process (action servers, sidecars, workers).

Daraja invalidates a credential set's previous token whenever it issues a new one, so processes
that each fetched their own would keep knocking each other's tokens out.
"""

from __future__ import annotations

import asyncio
import hashlib

import httpx
from redis.asyncio import Redis

from actions.payments.mpesa import DarajaConfig, TokenCache

# Delete the token only if it is still the one Daraja refused (another process may have renewed it).
_DELETE_IF_SAME = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


class SharedTokenCache(TokenCache):
    def __init__(self, redis: Redis, refresh_margin: float = 60.0) -> None:
        super().__init__(refresh_margin)
        self._redis = redis

    @staticmethod
    def _key(config: DarajaConfig) -> str:
        credential = hashlib.sha256(f"{config.url('')}|{config.consumer_key}".encode()).hexdigest()[:24]
        return f"daraja:token:{credential}"

    async def token(self, config: DarajaConfig, http: httpx.AsyncClient) -> str:
        key = self._key(config)
        async with self._locks.setdefault((key, ""), asyncio.Lock()):  # one fetch per process…
            if cached := await self._redis.get(key):
                return cached.decode()
            async with self._redis.lock(f"{key}:fetch", timeout=30, blocking_timeout=30):  # …and across them
                if cached := await self._redis.get(key):
                    return cached.decode()
                fresh = await self._fetch(config, http)
                lifetime = max(1, int(fresh.refresh_at - self._clock()))
                await self._redis.set(key, fresh.value, ex=lifetime)
                return fresh.value

    async def forget(self, config: DarajaConfig, token: str) -> None:
        await self._redis.eval(_DELETE_IF_SAME, 1, self._key(config), token)
