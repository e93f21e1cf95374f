"""Shops' payment secrets encrypted at rest, with keys from the environment (SHOP_SECRETS_KEY).

SHOP_SECRETS_KEY is a comma-separated list of Fernet keys (AES-128-CBC with HMAC-SHA256, from
`cryptography`): the first encrypts, every one decrypts. Rotation: put a new key first, run
`python -m actions.cli reseal-shop-secrets` (everything is encrypted again with the new key), then
drop the old key. A payment in flight keeps working throughout: its callback names the payment, and
the account it was asked with is read with whichever key the row is sealed with.
"""

from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from actions.commerce.errors import PaymentUnavailable


class SecretsUnreadable(PaymentUnavailable):
    """Sealed with a key no longer in SHOP_SECRETS_KEY, or changed: the shop must enter its secrets again."""


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def parse_keys(setting: str) -> list[str]:
    """The keys of a SHOP_SECRETS_KEY value; ValueError naming the position of one that is not a Fernet key."""
    keys = [key.strip() for key in setting.split(",") if key.strip()]
    for position, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ValueError(
                f"key {position} is not a Fernet key (32 url-safe base64-encoded bytes: "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
            ) from None
    return keys


class SecretBox:
    """Seals a shop's secrets (a dict of strings) into one token, and opens it again."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("no SHOP_SECRETS_KEY: shops' own payment accounts cannot be stored or read")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def __repr__(self) -> str:
        return "SecretBox(…)"

    def seal(self, secrets: dict[str, str]) -> str:
        return self._fernet.encrypt(json.dumps(secrets, sort_keys=True).encode()).decode("ascii")

    def open(self, sealed: str) -> dict[str, str]:
        try:
            return json.loads(self._fernet.decrypt(sealed.encode("ascii")))
        except (InvalidToken, ValueError):
            raise SecretsUnreadable("the stored secrets cannot be read with SHOP_SECRETS_KEY") from None

    def reseal(self, sealed: str) -> str:
        """The same secrets under the first key (MultiFernet.rotate)."""
        try:
            return self._fernet.rotate(sealed.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise SecretsUnreadable("the stored secrets cannot be read with SHOP_SECRETS_KEY") from None
