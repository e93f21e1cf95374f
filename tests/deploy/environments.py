"""A production environment that passes every check of deploy/checks.py: random secrets of the right shape."""

from __future__ import annotations

import secrets

from cryptography.fernet import Fernet


def production_env(**changes: str | None) -> dict[str, str]:
    """Change a variable with name=value, remove it with name=None."""
    env = {
        "DATABASE_URL": "postgresql://shop@db.internal:5432/shop",
        "REDIS_URL": "redis://:pw@redis.internal:6379/0",
        "PUBLIC_BASE_URL": "https://pay.duka.co.ke",
        "RASA_TOKEN": secrets.token_hex(32),
        "METRICS_TOKEN": secrets.token_hex(32),
        "WHATSAPP_VERIFY_TOKEN": secrets.token_urlsafe(24),
        "WHATSAPP_APP_SECRET": secrets.token_hex(16),
        "WHATSAPP_REPLY_KEY": secrets.token_hex(32),
        "WHATSAPP_ACCESS_TOKEN": "EAAG" + secrets.token_urlsafe(120),
        "MPESA_CONSUMER_KEY": secrets.token_urlsafe(36),
        "MPESA_CONSUMER_SECRET": secrets.token_urlsafe(48),
        "MPESA_PASSKEY": secrets.token_hex(32),
        "MPESA_SHORTCODE": "5123456",
        "PAYSTACK_SECRET_KEY": "sk_live_" + secrets.token_hex(20),
        "SHOP_SECRETS_KEY": Fernet.generate_key().decode(),
    }
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env
