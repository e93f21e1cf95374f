"""The clients of the Rasa side: Redis for a store, from its endpoint configuration (url, port, db,
password, key_prefix), and PostgreSQL through psycopg2 in worker threads (Rasa's environment has
no async driver)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable, Dict, Optional, TypeVar

import psycopg2.pool
from redis.asyncio import Redis

SOCKET_TIMEOUT = 5.0


def redis_from(config: Dict[str, Any]) -> Redis:
    return Redis(
        host=config.get("url") or config.get("host") or "127.0.0.1",
        port=int(config.get("port") or 6379),
        db=int(config.get("db") or 0),
        password=config.get("password") or None,
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=SOCKET_TIMEOUT,
    )


def key_prefix(config: Dict[str, Any], default: str = "shop") -> str:
    prefix: Optional[str] = config.get("key_prefix")
    return str(prefix) if prefix else default


T = TypeVar("T")


def plain_url(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


class Postgres:
    """A small pool, opened on first use; `run` does one piece of work in one transaction, in a thread."""

    def __init__(self, url: str) -> None:
        self.url = plain_url(url)
        self._pool: Optional[psycopg2.pool.ThreadedConnectionPool] = None
        self._opening = threading.Lock()

    def _connection_pool(self) -> psycopg2.pool.ThreadedConnectionPool:
        with self._opening:
            if self._pool is None:
                self._pool = psycopg2.pool.ThreadedConnectionPool(1, 4, self.url)
            return self._pool

    def _run(self, work: Callable[[Any], T]) -> T:
        pool = self._connection_pool()
        connection = pool.getconn()
        try:
            with connection, connection.cursor() as cursor:  # one transaction
                return work(cursor)
        finally:
            pool.putconn(connection)

    async def run(self, work: Callable[[Any], T]) -> T:
        return await asyncio.to_thread(self._run, work)
