"""The process's shared resources: created when a server starts, closed when it stops."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from actions.db.cache import ReadCache
from actions.db.engine import create_engine, session_factory
from actions.db.uow import SqlUnitOfWork
from actions.observability import correlation
from actions.payments.mpesa import TokenCache
from actions.payments.settings import PaymentSettings
from actions.payments.shared_tokens import SharedTokenCache
from actions.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    payments: PaymentSettings
    http: httpx.AsyncClient  # for Daraja, Paystack and Rasa's API; one connection pool per process
    mpesa_tokens: TokenCache = field(default_factory=TokenCache)  # replaced by the Redis-shared one at start
    jobs: object | None = None  # the arq pool, opened on first use (see actions.jobs)
    redis: Redis | None = None  # sessions of the admin pages, the read cache

    @property
    def cache(self) -> ReadCache | None:
        return ReadCache(self.redis) if self.redis is not None else None

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.sessions, self.cache)


_current: Runtime | None = None


async def start(settings: Settings | None = None) -> Runtime:
    global _current
    if _current is None:
        settings = settings or Settings.from_env()
        engine = create_engine(settings)
        http = httpx.AsyncClient(
            timeout=httpx.Timeout(30, connect=10), event_hooks={"request": [correlation.add_header]}
        )
        _current = Runtime(settings, engine, session_factory(engine), PaymentSettings.from_env(), http)
        _current.mpesa_tokens = SharedTokenCache(Redis.from_url(settings.redis_url))
        _current.redis = Redis.from_url(settings.redis_url)
    return _current


async def stop() -> None:
    global _current
    if _current is not None:
        await _current.engine.dispose()
        await _current.http.aclose()
        if isinstance(_current.mpesa_tokens, SharedTokenCache):
            await _current.mpesa_tokens.close()
        if _current.redis is not None:
            await _current.redis.aclose()
        if _current.jobs is not None:
            await _current.jobs.aclose()
        _current = None


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("the runtime is not started: run the action server with `python -m actions.server`")
    return _current
