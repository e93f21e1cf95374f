"""The M-Pesa callback URL, which is the only credential an unsigned Daraja callback carries.

A payment's callback URL ends in `<tenant id>.<shop secret>/<payment nonce>`: the id finds the
merchant, the shop's secret (32 random bytes, rotatable) and the payment's own nonce (32 random
bytes, stored on the payment) are compared in constant time when the callback is recorded
(`actions.commerce.payments.CallbackCredentials`), so a leaked URL settles no other payment.
Payments asked for before nonces existed were given `<tenant id>.<shop secret>` alone.
"""

from __future__ import annotations

import re

from actions.commerce.payments import CallbackCredentials

SECRET = re.compile(r"[A-Za-z0-9_\-]{32,128}")
TENANT_ID = re.compile(r"[0-9]{1,18}")  # a bigint, ASCII digits only


def callback_token(tenant_id: int, secret: str) -> str:
    return f"{tenant_id}.{secret}"


def callback_path(tenant_id: int, secret: str, nonce: str) -> str:
    return f"/payments/mpesa/callback/{callback_token(tenant_id, secret)}/{nonce}"


def split_token(token: str) -> tuple[int, str] | None:
    tenant, _, secret = token.partition(".")
    if not TENANT_ID.fullmatch(tenant) or not SECRET.fullmatch(secret):
        return None
    return int(tenant), secret


def credentials(token: str, nonce: str | None = None) -> CallbackCredentials | None:
    """What the callback URL says, or None when it is not of our making at all."""
    parts = split_token(token)
    if parts is None or (nonce is not None and not SECRET.fullmatch(nonce)):
        return None
    return CallbackCredentials(parts[0], parts[1], nonce)
