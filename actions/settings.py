"""The action side's configuration: one typed object, read from the environment once when a process starts.

Every variable is listed in `.env.example`. A missing or malformed one stops the process with a
message naming it (`Settings.load`). Nothing else in `actions/` reads the environment; `bot/` has
its own settings, because Rasa pins pydantic 1.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from actions.commerce.payments import PROMPT_LIFETIME, CheckPolicy
from actions.observability import logs
from actions.payments.secret_box import SecretBox, parse_keys

PROJECT_DIR = Path(__file__).resolve().parents[1]  # domain.yml, data/nlu/, tests/nlu/


class SettingsError(SystemExit):
    """The environment cannot configure this process; the message names the variables."""


def async_database_url(url: str) -> str:
    """SQLAlchemy URL for psycopg 3 from a plain `postgresql://` (or `postgres://`) URL."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError("must be a postgresql:// URL")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False, hide_input_in_errors=True)

    # Where the data lives.
    database_url: str = Field(description="postgresql://user@host:5432/dbname")
    redis_url: str = "redis://127.0.0.1:6379/0"
    db_pool_size: int = Field(10, ge=1)
    db_max_overflow: int = Field(20, ge=0)
    db_pool_timeout: int = Field(30, ge=1)
    db_pool_recycle: int = Field(1800, ge=1)

    # The action server and the sidecar.
    default_tenant: str = "demo-shop"
    action_server_host: str = "127.0.0.1"
    action_server_port: int = Field(5055, ge=1, le=65535)
    sidecar_host: str = "127.0.0.1"
    sidecar_port: int = Field(8000, ge=1, le=65535)
    sidecar_workers: int = Field(1, ge=1)  # processes answering on SIDECAR_PORT, each with its own pool
    log_level: str = "INFO"
    log_levels: str = ""
    # The header a reverse proxy in front of the sidecar appends the client's address to (X-Forwarded-For);
    # unset: the socket's peer is the client, and no such header is believed.
    trusted_proxy_header: str = Field("", pattern=r"^[A-Za-z0-9-]*$")
    # The Bearer token of the sidecar's GET /metrics and GET /ready (unset: both answer 404).
    metrics_token: str = Field("", repr=False)

    # Payments: where providers reach the sidecar, and the platform's provider accounts.
    public_base_url: str = "http://127.0.0.1:8000"
    mpesa_base_url: str = "https://sandbox.safaricom.co.ke"
    mpesa_consumer_key: str = Field("", repr=False)
    mpesa_consumer_secret: str = Field("", repr=False)
    mpesa_shortcode: str = Field("174379", pattern=r"^\d+$")
    mpesa_passkey: str = Field("", repr=False)
    mpesa_transaction_type: str = Field("CustomerPayBillOnline", pattern=r"^Customer(PayBillOnline|BuyGoodsOnline)$")
    paystack_base_url: str = "https://api.paystack.co"
    paystack_secret_key: str = Field("", repr=False)
    paystack_email_domain: str = Field("customers.example.com", pattern=r"(?i)^[a-z0-9-]+(\.[a-z0-9-]+)+$")
    # Keys the hash that makes a customer's Paystack e-mail (no phone number in it); set once, never change.
    paystack_email_secret: str = Field("", repr=False)
    # Fernet keys (comma-separated; the first encrypts) sealing shops' own payment secrets at rest.
    shop_secrets_key: str = Field("", repr=False)
    # Unauthenticated callbacks and webhooks kept for review, per hour: from one address, and in all.
    rejected_per_address_per_hour: int = Field(20, ge=0)
    rejected_per_hour: int = Field(500, ge=0)

    # Reconciliation: when the provider is asked about a silent payment (see CheckPolicy).
    reconcile_first_check_seconds: float = Field(60, ge=0)
    reconcile_backoff_seconds: float = Field(60, ge=0)
    reconcile_max_checks: int = Field(5, ge=1)
    webhook_retry_window_minutes: float = 60
    reconcile_interval_seconds: float = Field(10, gt=0)

    # The worker's queue and Rasa's HTTP API (payment updates, hand-backs).
    jobs_queue: str = "shop:jobs"
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = Field("", repr=False)

    # Admin pages.
    admin_session_minutes: int = Field(480, ge=1)
    admin_login_attempts: int = Field(5, ge=1)
    admin_secure_cookies: str = Field("auto", pattern=r"(?i)^(auto|1|0|true|false|yes|no)$")
    admin_redis_prefix: str = "admin"
    shop_timezone: str = "Africa/Nairobi"
    staff_password: str = Field("", repr=False)  # `actions.cli add-staff` without asking (make chat)

    # Conversation review (`actions.cli review`, /admin/review): where the tracker store keeps live
    # sessions, which messages count as unsure, and the checkout whose training files examples go to.
    redis_key_prefix: str = "shop"
    review_confidence_below: float = Field(0.6, gt=0, le=1)
    review_project_dir: Path = PROJECT_DIR

    @field_validator("database_url")
    @classmethod
    def _psycopg_url(cls, value: str) -> str:
        return async_database_url(value.strip())

    @field_validator("public_base_url", "rasa_url", "mpesa_base_url", "paystack_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.strip().rstrip("/")

    @field_validator("shop_secrets_key")
    @classmethod
    def _fernet_keys(cls, value: str) -> str:
        parse_keys(value)  # ValueError names the key that is not one
        return value

    @field_validator("redis_key_prefix")
    @classmethod
    def _rasa_key_prefix(cls, value: str) -> str:
        value = value.strip() or "shop"  # the tracker store's own default for an empty REDIS_KEY_PREFIX
        if not value.isalnum():
            raise ValueError("letters and digits only")
        return value

    @field_validator("webhook_retry_window_minutes")
    @classmethod
    def _outlasts_a_prompt(cls, value: float) -> float:
        floor = PROMPT_LIFETIME.total_seconds() / 60
        if value <= floor:
            raise ValueError(
                f"must be more than {floor:g} minutes, the life of an M-Pesa prompt (or payments still payable expire)"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return value.upper()

    @field_validator("log_levels")
    @classmethod
    def _known_levels(cls, value: str) -> str:
        logs.parse_levels(value)  # ValueError names the wrong item
        return value

    @field_validator("shop_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone name such as Africa/Nairobi") from None
        return value

    @classmethod
    def load(cls, **overrides: object) -> Settings:
        """The settings of this process, or SettingsError naming each variable that is missing or wrong."""
        try:
            return cls(**overrides)
        except ValidationError as e:
            problems = []
            for error in e.errors():
                variable = "_".join(str(part) for part in error["loc"]).upper()
                hint = " (start the stack with `make chat`, or export it)" if variable == "DATABASE_URL" else ""
                message = error["msg"].removeprefix("Value error, ").removeprefix(f"{variable}: ")
                problems.append(f"{variable}: {message}{hint}")
            raise SettingsError("Configuration error:\n  " + "\n  ".join(problems)) from None

    from_env = load

    @property
    def mpesa_configured(self) -> bool:
        return bool(self.mpesa_consumer_key and self.mpesa_consumer_secret and self.mpesa_passkey)

    @property
    def paystack_configured(self) -> bool:
        return bool(self.paystack_secret_key)

    @property
    def paystack_email_key(self) -> str:
        """PAYSTACK_EMAIL_SECRET, else one derived from the Paystack key (stable while that key is)."""
        return self.paystack_email_secret or "paystack-email:" + self.paystack_secret_key

    @property
    def secret_box(self) -> SecretBox | None:
        """What seals shops' own payment secrets; None without SHOP_SECRETS_KEY (then shops cannot have any)."""
        keys = parse_keys(self.shop_secrets_key)
        return SecretBox(keys) if keys else None

    @property
    def check_policy(self) -> CheckPolicy:
        return CheckPolicy(
            first_check=timedelta(seconds=self.reconcile_first_check_seconds),
            backoff=timedelta(seconds=self.reconcile_backoff_seconds),
            max_checks=self.reconcile_max_checks,
            retry_window=timedelta(minutes=self.webhook_retry_window_minutes),
        )

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.shop_timezone)

    @property
    def secure_cookies(self) -> bool:
        """Secure cookies unless the sidecar is reached over plain http (make chat, tests)."""
        setting = self.admin_secure_cookies.lower()
        if setting == "auto":
            return self.public_base_url.startswith("https://")
        return setting in ("1", "true", "yes")
