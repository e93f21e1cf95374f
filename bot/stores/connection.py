"""The Redis client of a store, from its endpoint configuration (url, port, db, password, key_prefix)."""

from __future__ import annotations

from typing import Any, Dict, Optional

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
