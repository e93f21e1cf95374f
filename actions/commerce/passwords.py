"""Staff passwords, hashed with argon2id (argon2-cffi); API token hashes.

Hashes made before argon2 ("scrypt$n$r$p$salt$hash", base64 parts) still verify, and `upgraded` gives
the argon2 hash that replaces one at the next sign-in. Hashing and verifying take a fifth of a second
of CPU on purpose, so they run in a thread: the sidecar's event loop answers payment webhooks meanwhile.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
_argon2 = PasswordHasher()  # argon2id with RFC 9106's low-memory parameters: 64 MiB, 3 passes, 4 lanes

# What a password is checked against when the e-mail is nobody's, so that an unknown e-mail takes as long
# to refuse as a wrong password. The hash of a random string nobody kept, with the parameters above.
DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$MsMryApvohQmgMew5qaApQ$ckY/QxydwzKuEPkX3YvPp2selHnINRys+GragupRkYk"


class WeakPassword(ValueError):
    pass


async def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    return await asyncio.to_thread(_argon2.hash, password)


async def verify_password(password: str, stored: str) -> bool:
    return await asyncio.to_thread(_verify, password, stored)


async def upgraded(password: str, stored: str) -> str | None:
    """The hash to store instead of `stored` (which `password` just verified against), when `stored` is
    an scrypt hash or argon2 with other parameters; None when it is current."""
    if stored.startswith("$argon2") and not _argon2.check_needs_rehash(stored):
        return None
    return await asyncio.to_thread(_argon2.hash, password)


def _verify(password: str, stored: str) -> bool:
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    try:
        return _argon2.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def token_hash(token: str) -> str:
    """What is stored of an API token: its SHA-256 (the token is long and random, so no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()
