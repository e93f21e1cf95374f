"""Payment configuration from the environment. Secrets come only from here, never from the repo."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None


@dataclass(frozen=True)
class PaymentSettings:
    public_base_url: str  # where providers reach the sidecar, e.g. https://pay.example.co.ke
    mpesa_base_url: str
    mpesa_consumer_key: str = field(repr=False)
    mpesa_consumer_secret: str = field(repr=False)
    mpesa_shortcode: str
    mpesa_passkey: str = field(repr=False)
    mpesa_transaction_type: str
    paystack_base_url: str
    paystack_secret_key: str = field(repr=False)
    paystack_email_domain: str
    first_check_seconds: float  # when reconciliation first asks the provider about a silent payment
    backoff_seconds: float  # then 1, 2, 4, 8… times this
    max_checks: int
    retry_window_minutes: float
    rasa_url: str
    rasa_token: str = field(repr=False)

    @property
    def mpesa_configured(self) -> bool:
        return bool(self.mpesa_consumer_key and self.mpesa_consumer_secret and self.mpesa_passkey)

    @property
    def paystack_configured(self) -> bool:
        return bool(self.paystack_secret_key)

    @classmethod
    def from_env(cls) -> PaymentSettings:
        env = os.environ.get
        return cls(
            public_base_url=env("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
            mpesa_base_url=env("MPESA_BASE_URL", "https://sandbox.safaricom.co.ke"),
            mpesa_consumer_key=env("MPESA_CONSUMER_KEY", ""),
            mpesa_consumer_secret=env("MPESA_CONSUMER_SECRET", ""),
            mpesa_shortcode=env("MPESA_SHORTCODE", "174379"),
            mpesa_passkey=env("MPESA_PASSKEY", ""),
            mpesa_transaction_type=env("MPESA_TRANSACTION_TYPE", "CustomerPayBillOnline"),
            paystack_base_url=env("PAYSTACK_BASE_URL", "https://api.paystack.co"),
            paystack_secret_key=env("PAYSTACK_SECRET_KEY", ""),
            paystack_email_domain=env("PAYSTACK_EMAIL_DOMAIN", "customers.example.com"),
            first_check_seconds=_float("RECONCILE_FIRST_CHECK_SECONDS", 60),
            backoff_seconds=_float("RECONCILE_BACKOFF_SECONDS", 60),
            max_checks=int(_float("RECONCILE_MAX_CHECKS", 5)),
            retry_window_minutes=_float("WEBHOOK_RETRY_WINDOW_MINUTES", 60),
            rasa_url=env("RASA_URL", "http://127.0.0.1:5005").rstrip("/"),
            rasa_token=env("RASA_TOKEN", ""),
        )
