"""Staff sessions and sign-in attempts, in Redis.

A session is a random token in an HttpOnly cookie; Redis keeps only its SHA-256, with the staff
member, the tenant and the CSRF token of every form, and forgets it after ADMIN_SESSION_MINUTES
without a request. Sign-in attempts are counted per e-mail and per address: after
ADMIN_LOGIN_ATTEMPTS failures in 15 minutes, sign-in waits.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

ATTEMPT_WINDOW_SECONDS = 15 * 60
ADDRESS_FACTOR = 10  # one office shares an address: it may fail ten times as often as one e-mail


@dataclass(frozen=True)
class StaffSession:
    user_id: int
    tenant_id: int
    tenant_name: str
    email: str
    name: str
    csrf: str


def prefix() -> str:
    return os.environ.get("ADMIN_REDIS_PREFIX", "admin")


def _key(token: str) -> str:
    return f"{prefix()}:session:{hashlib.sha256(token.encode()).hexdigest()}"


def session_seconds() -> int:
    return int(os.environ.get("ADMIN_SESSION_MINUTES", "480")) * 60


def max_attempts() -> int:
    return int(os.environ.get("ADMIN_LOGIN_ATTEMPTS", "5"))


async def open_session(redis: Redis, user_id: int, tenant_id: int, tenant_name: str, email: str, name: str) -> str:
    token = secrets.token_urlsafe(32)
    session = StaffSession(user_id, tenant_id, tenant_name, email, name, secrets.token_urlsafe(24))
    await redis.set(_key(token), json.dumps(asdict(session)), ex=session_seconds())
    return token


async def current_session(redis: Redis, token: str | None) -> StaffSession | None:
    """The session behind a cookie, kept alive for another ADMIN_SESSION_MINUTES; None once expired."""
    if not token:
        return None
    raw = await redis.getex(_key(token), ex=session_seconds())
    return StaffSession(**json.loads(raw)) if raw else None


async def close_session(redis: Redis, token: str | None) -> None:
    if token:
        await redis.delete(_key(token))


def _attempt_keys(email: str, address: str) -> list[str]:
    return [f"{prefix()}:attempts:email:{email.strip().lower()}", f"{prefix()}:attempts:ip:{address}"]


async def seconds_until_allowed(redis: Redis, email: str, address: str) -> int:
    """0 when this sign-in may be tried; else how long to wait."""
    limits = (max_attempts(), max_attempts() * ADDRESS_FACTOR)
    for key, limit in zip(_attempt_keys(email, address), limits, strict=True):
        count = await redis.get(key)
        if count is not None and int(count) >= limit:
            return max(1, await redis.ttl(key))
    return 0


async def record_failure(redis: Redis, email: str, address: str) -> None:
    for key in _attempt_keys(email, address):
        if await redis.incr(key) == 1:
            await redis.expire(key, ATTEMPT_WINDOW_SECONDS)


async def clear_failures(redis: Redis, email: str, address: str) -> None:
    await redis.delete(_attempt_keys(email, address)[0])
