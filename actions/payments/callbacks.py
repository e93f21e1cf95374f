"""Authenticating M-Pesa callbacks, which Safaricom does not sign.

Each merchant's callback URL ends in `<tenant id>.<secret>`: the id finds the merchant, the
secret (32 random bytes) is compared in constant time. A known CheckoutRequestID and the amount
asked for are checked when the outcome is recorded (`actions.commerce.payments.record`).
"""

from __future__ import annotations

import hmac


def callback_token(tenant_id: int, secret: str) -> str:
    return f"{tenant_id}.{secret}"


def split_token(token: str) -> tuple[int, str] | None:
    tenant, _, secret = token.partition(".")
    if not tenant.isdigit() or len(secret) < 32:
        return None
    return int(tenant), secret


def secret_matches(given: str, stored: str | None) -> bool:
    return stored is not None and hmac.compare_digest(given.encode(), stored.encode())
