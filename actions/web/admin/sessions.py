"""Staff sessions and sign-in attempts, in Redis.

A session is a random token in an HttpOnly cookie; Redis keeps only its SHA-256, with the staff
member, the tenant and the CSRF token of every form, and forgets it after ADMIN_SESSION_MINUTES
without a request. Sign-in attempts are counted per e-mail and per address: after
ADMIN_LOGIN_ATTEMPTS failures in 15 minutes, sign-in waits. Each function takes the process's runtime
for its Redis client and those settings.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

from actions.runtime import Runtime

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


def _redis(rt: Runtime) -> Redis:
    assert rt.redis is not None, "the admin pages need Redis"
    return rt.redis


def _key(rt: Runtime, token: str) -> str:
    return f"{rt.settings.admin_redis_prefix}:session:{hashlib.sha256(token.encode()).hexdigest()}"


def _session_seconds(rt: Runtime) -> int:
    return rt.settings.admin_session_minutes * 60


async def open_session(rt: Runtime, user_id: int, tenant_id: int, tenant_name: str, email: str, name: str) -> str:
    token = secrets.token_urlsafe(32)
    session = StaffSession(user_id, tenant_id, tenant_name, email, name, secrets.token_urlsafe(24))
    await _redis(rt).set(_key(rt, token), json.dumps(asdict(session)), ex=_session_seconds(rt))
    return token


async def current_session(rt: Runtime, token: str | None) -> StaffSession | None:
    """The session behind a cookie, kept alive for another ADMIN_SESSION_MINUTES; None once expired."""
    if not token:
        return None
    raw = await _redis(rt).getex(_key(rt, token), ex=_session_seconds(rt))
    return StaffSession(**json.loads(raw)) if raw else None


async def close_session(rt: Runtime, token: str | None) -> None:
    if token:
        await _redis(rt).delete(_key(rt, token))


def _attempt_keys(rt: Runtime, email: str, address: str) -> list[str]:
    prefix = rt.settings.admin_redis_prefix
    return [f"{prefix}:attempts:email:{email.strip().lower()}", f"{prefix}:attempts:ip:{address}"]


async def seconds_until_allowed(rt: Runtime, email: str, address: str) -> int:
    """0 when this sign-in may be tried; else how long to wait."""
    most = rt.settings.admin_login_attempts
    for key, limit in zip(_attempt_keys(rt, email, address), (most, most * ADDRESS_FACTOR), strict=True):
        count = await _redis(rt).get(key)
        if count is not None and int(count) >= limit:
            return max(1, await _redis(rt).ttl(key))
    return 0


async def record_failure(rt: Runtime, email: str, address: str) -> None:
    for key in _attempt_keys(rt, email, address):
        if await _redis(rt).incr(key) == 1:
            await _redis(rt).expire(key, ATTEMPT_WINDOW_SECONDS)


async def clear_failures(rt: Runtime, email: str, address: str) -> None:
    await _redis(rt).delete(_attempt_keys(rt, email, address)[0])
