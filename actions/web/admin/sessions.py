"""Staff sessions and sign-in attempts, in Redis.

A session is a random token in an HttpOnly cookie; Redis keeps only its SHA-256, with the staff
member, the tenant, the CSRF token of every form and a fingerprint of the password hash the member
signed in with, and forgets it after ADMIN_SESSION_MINUTES without a request. A session whose member
is no longer active, or whose password hash changed, is over (`signed_in_as`). Sign-in attempts are
counted per e-mail and per address before the password is checked (so parallel guesses count too),
each count and its expiry set in one Lua call: after ADMIN_LOGIN_ATTEMPTS attempts with an e-mail in
15 minutes (ten times as many from one address), sign-in waits. A successful sign-in clears the
e-mail's count and takes itself off the address's. Each function takes the process's runtime for its
Redis client and those settings.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

from actions.commerce.ports import StaffAccount
from actions.runtime import Runtime

ATTEMPT_WINDOW_SECONDS = 15 * 60
ADDRESS_FACTOR = 10  # one office shares an address: it may try ten times as often as one e-mail

# Each counter counted up, and given the window as its expiry if it has none, in one atomic call: no crash
# can leave a counter that never expires (an account locked for good). {count, seconds left} per key.
_COUNT_ATTEMPT = """
local found = {}
for _, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, ARGV[1]) end
  table.insert(found, count)
  table.insert(found, redis.call('TTL', key))
end
return found
"""
# After a successful sign-in: the e-mail's counter gone, the address's counted back down (if it is still
# there: a DECR of a key that expired meanwhile would make one without expiry).
_SUCCEEDED = """
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('DECR', KEYS[2]) end
"""


@dataclass(frozen=True)
class StaffSession:
    user_id: int
    tenant_id: int
    tenant_name: str
    email: str
    name: str
    csrf: str
    credential: str = ""  # of the password hash signed in with; sessions older than this field have none
    role: str = "staff"  # at sign-in, for the menu; the shop pages read the member's role afresh


def _redis(rt: Runtime) -> Redis:
    assert rt.redis is not None, "the admin pages need Redis"
    return rt.redis


def _key(rt: Runtime, token: str) -> str:
    return f"{rt.settings.admin_redis_prefix}:session:{hashlib.sha256(token.encode()).hexdigest()}"


def _session_seconds(rt: Runtime) -> int:
    return rt.settings.admin_session_minutes * 60


def credential(password_hash: str) -> str:
    """What a session keeps of the password hash: enough to see that it changed, nothing to attack it with."""
    return hashlib.sha256(password_hash.encode()).hexdigest()


async def open_session(rt: Runtime, account: StaffAccount) -> str:
    token = secrets.token_urlsafe(32)
    session = StaffSession(
        account.user_id, account.tenant_id, account.tenant_name, account.email, account.name,
        secrets.token_urlsafe(24), credential(account.password_hash), account.role,
    )  # fmt: skip
    await _redis(rt).set(_key(rt, token), json.dumps(asdict(session)), ex=_session_seconds(rt))
    return token


async def current_session(rt: Runtime, token: str | None) -> StaffSession | None:
    """The session behind a cookie, kept alive for another ADMIN_SESSION_MINUTES; None once expired."""
    if not token:
        return None
    raw = await _redis(rt).getex(_key(rt, token), ex=_session_seconds(rt))
    return StaffSession(**json.loads(raw)) if raw else None


def signed_in_as(session: StaffSession, password_hash: str | None) -> bool:
    """Whether the session still holds for its member, whose password hash is now this (None: not active)."""
    return password_hash is not None and hmac.compare_digest(session.credential, credential(password_hash))


async def close_session(rt: Runtime, token: str | None) -> None:
    if token:
        await _redis(rt).delete(_key(rt, token))


def _attempt_keys(rt: Runtime, email: str, address: str) -> list[str]:
    prefix = rt.settings.admin_redis_prefix
    return [f"{prefix}:attempts:email:{email.strip().lower()}", f"{prefix}:attempts:ip:{address}"]


async def count_attempt(rt: Runtime, email: str, address: str) -> int:
    """Count a sign-in attempt, before its password is checked: 0 when it may go on, else seconds to wait."""
    most = rt.settings.admin_login_attempts
    found = await _redis(rt).eval(_COUNT_ATTEMPT, 2, *_attempt_keys(rt, email, address), ATTEMPT_WINDOW_SECONDS)
    for count, seconds_left, limit in zip(found[::2], found[1::2], (most, most * ADDRESS_FACTOR), strict=True):
        if count > limit:
            return max(1, seconds_left)
    return 0


async def clear_attempts(rt: Runtime, email: str, address: str) -> None:
    """After a successful sign-in: the e-mail starts afresh, and the address's count keeps only its failures."""
    await _redis(rt).eval(_SUCCEEDED, 2, *_attempt_keys(rt, email, address))
