"""The WhatsApp channel's configuration, from the environment (see .env.example)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Mapping, Optional

TOKEN_PREFIX = "WHATSAPP_ACCESS_TOKEN_"


class MissingSetting(RuntimeError):
    pass


@dataclass(frozen=True)
class RedisSettings:
    host: str = "127.0.0.1"
    port: int = 6379
    db: int = 0
    password: Optional[str] = None
    key_prefix: str = "shop"


@dataclass(frozen=True)
class WhatsAppSettings:
    verify_token: str
    app_secret: str
    reply_key: str  # signs the ids of the choices the bot sends (bot/whatsapp/reply_ids.py)
    database_url: str  # where the shops and their numbers are (commerce.tenants)
    default_access_token: Optional[str] = None
    access_tokens: Mapping[str, str] = field(default_factory=dict)  # phone_number_id -> token
    graph_url: str = "https://graph.facebook.com"
    api_version: str = "v21.0"
    debounce_seconds: float = 1.5
    lease_seconds: float = 20.0  # a burst taken by a server that died is taken again after this long
    max_message_age_seconds: int = 1800
    send_retries: int = 4
    retry_base_seconds: float = 1.0
    template_name: Optional[str] = None
    template_language: str = "en"
    redis: RedisSettings = field(default_factory=RedisSettings)

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> "WhatsAppSettings":
        env = os.environ if environ is None else environ

        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise MissingSetting(f"{name} is not set: the WhatsApp channel needs it (see .env.example)")
            return value

        tokens = {
            name[len(TOKEN_PREFIX) :]: value
            for name, value in env.items()
            if name.startswith(TOKEN_PREFIX) and re.fullmatch(r"\d+", name[len(TOKEN_PREFIX) :]) and value
        }
        return cls(
            verify_token=required("WHATSAPP_VERIFY_TOKEN"),
            app_secret=required("WHATSAPP_APP_SECRET"),
            reply_key=required("WHATSAPP_REPLY_KEY"),
            database_url=required("DATABASE_URL"),
            default_access_token=env.get("WHATSAPP_ACCESS_TOKEN") or None,
            access_tokens=tokens,
            graph_url=env.get("WHATSAPP_GRAPH_URL", cls.graph_url).rstrip("/"),
            api_version=env.get("WHATSAPP_API_VERSION", cls.api_version),
            debounce_seconds=float(env.get("WHATSAPP_DEBOUNCE_SECONDS", cls.debounce_seconds)),
            lease_seconds=float(env.get("WHATSAPP_LEASE_SECONDS", cls.lease_seconds)),
            max_message_age_seconds=int(env.get("WHATSAPP_MAX_MESSAGE_AGE_SECONDS", cls.max_message_age_seconds)),
            send_retries=int(env.get("WHATSAPP_SEND_RETRIES", cls.send_retries)),
            retry_base_seconds=float(env.get("WHATSAPP_RETRY_BASE_SECONDS", cls.retry_base_seconds)),
            template_name=env.get("WHATSAPP_TEMPLATE_NAME") or None,
            template_language=env.get("WHATSAPP_TEMPLATE_LANGUAGE", cls.template_language),
            redis=RedisSettings(
                host=env.get("REDIS_HOST", "127.0.0.1"),
                port=int(env.get("REDIS_PORT") or 6379),
                db=int(env.get("REDIS_DB") or 0),
                password=env.get("REDIS_PASSWORD") or None,
                key_prefix=env.get("REDIS_KEY_PREFIX") or "shop",
            ),
        )

    def access_token(self, phone_number_id: str) -> Optional[str]:
        """A merchant's own token for its number, else the business's token for all its numbers."""
        return self.access_tokens.get(phone_number_id) or self.default_access_token
