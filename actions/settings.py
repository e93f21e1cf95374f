"""Configuration from the environment, read once when a process starts."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None


def async_database_url(url: str) -> str:
    """SQLAlchemy URL for psycopg 3 from a plain `postgresql://` (or `postgres://`) URL."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a postgresql:// URL")


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str
    default_tenant: str = "demo-shop"
    db_pool_size: int = 10
    db_max_overflow: int = 20
    db_pool_timeout: int = 30
    db_pool_recycle: int = 1800

    @classmethod
    def from_env(cls) -> Settings:
        database_url = os.environ.get("DATABASE_URL", "").strip()
        if not database_url:
            raise RuntimeError(
                "DATABASE_URL is not set. Start the stack with `make chat`, "
                "or export DATABASE_URL=postgresql://user@host:5432/dbname"
            )
        return cls(
            database_url=async_database_url(database_url),
            redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            default_tenant=os.environ.get("DEFAULT_TENANT", "demo-shop"),
            db_pool_size=_int("DB_POOL_SIZE", 10),
            db_max_overflow=_int("DB_MAX_OVERFLOW", 20),
            db_pool_timeout=_int("DB_POOL_TIMEOUT", 30),
            db_pool_recycle=_int("DB_POOL_RECYCLE", 1800),
        )
