"""The process's shared resources, created when a process starts and closed when it stops, and the
ports the use cases are given: a unit of work (with its outbox of jobs), the payment providers, the conversations.

Entry points (actions/server.py, actions/web/, actions/worker.py, actions/cli.py) take what they
need from here and pass it to the use cases in actions/commerce/; nothing below them sees a Runtime.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import httpx
from procrastinate import App
from redis.asyncio import Redis
from sanic import Sanic
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from actions.commerce import shop_accounts
from actions.commerce.ports import Sealer
from actions.commerce.shop_accounts import Account
from actions.db.cache import ReadCache
from actions.db.conversations import StoredConversations
from actions.db.engine import create_engine, session_factory
from actions.db.uow import SqlUnitOfWork
from actions.jobs import ProcrastinateOutbox, create_app
from actions.observability import correlation, logs
from actions.payments.providers import Providers
from actions.payments.secret_box import SecretsUnreadable
from actions.payments.shared_tokens import SharedTokenCache
from actions.rasa_api import RasaConversations
from actions.settings import Settings
from actions.training_files import TrainingFiles


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient  # for Daraja, Paystack and Rasa's API; one connection pool per process
    redis: Redis  # Daraja tokens, sessions of the admin pages, the read cache, correlation trails
    mpesa_tokens: SharedTokenCache
    providers: Providers
    jobs: App  # procrastinate's, on this database: the worker runs it, units of work defer through it
    conversations: RasaConversations

    @property
    def sealer(self) -> Sealer:
        """What seals shops' own payment secrets (SHOP_SECRETS_KEY); without the key, anything it does refuses."""
        return self.settings.secret_box or NO_KEY

    @property
    def cache(self) -> ReadCache:
        return ReadCache(self.redis)

    def uow(self) -> SqlUnitOfWork:
        outbox = functools.partial(ProcrastinateOutbox, app=self.jobs, queue=self.settings.jobs_queue, redis=self.redis)
        return SqlUnitOfWork(self.sessions, self.cache, outbox)

    @property
    def stored_conversations(self) -> StoredConversations:
        return StoredConversations(self.redis, self.settings.redis_key_prefix, self.sessions)

    @property
    def training(self) -> TrainingFiles:
        return TrainingFiles(self.settings.review_project_dir)


class ShopAccounts:
    """Shops' own payment accounts for the providers: read through a unit of work, opened with SHOP_SECRETS_KEY."""

    def __init__(self, runtime: Runtime | None = None) -> None:
        self.runtime = runtime

    @property
    def sealer(self) -> Sealer:
        assert self.runtime is not None
        return self.runtime.sealer

    async def current(self, tenant_id: int, provider: str) -> Account | None:
        assert self.runtime is not None
        return await shop_accounts.current(self.runtime.uow(), self.sealer, tenant_id, provider)

    async def by_id(self, account_id: int) -> Account | None:
        assert self.runtime is not None
        return await shop_accounts.by_id(self.runtime.uow(), self.sealer, account_id)


class _NoKey:
    """No SHOP_SECRETS_KEY: a shop's stored account cannot be opened, nor a new one sealed."""

    def seal(self, secrets: dict[str, str]) -> str:
        raise SecretsUnreadable("SHOP_SECRETS_KEY is not set: shops cannot have payment accounts of their own")

    def open(self, sealed: str) -> dict[str, str]:
        raise SecretsUnreadable("SHOP_SECRETS_KEY is not set: this shop's payment account cannot be read")

    reseal = open


NO_KEY = _NoKey()

_current: Runtime | None = None


async def start(settings: Settings | None = None) -> Runtime:
    global _current
    if _current is None:
        settings = settings or Settings.load()
        engine = create_engine(settings)
        http = httpx.AsyncClient(
            timeout=httpx.Timeout(30, connect=10), event_hooks={"request": [correlation.add_header]}
        )
        redis = Redis.from_url(settings.redis_url)
        tokens = SharedTokenCache(redis)
        accounts = ShopAccounts()
        _current = Runtime(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            http=http,
            redis=redis,
            mpesa_tokens=tokens,
            providers=Providers(settings, http, tokens, accounts),
            jobs=create_app(settings),
            conversations=RasaConversations(http, settings.rasa_url, settings.rasa_token),
        )
        accounts.runtime = _current
    return _current


async def stop() -> None:
    global _current
    if _current is not None:
        await _current.engine.dispose()
        await _current.http.aclose()
        await _current.redis.aclose()
        _current = None


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("the runtime is not started: run the action server with `python -m actions.server`")
    return _current


def attach(app: Sanic, settings: Settings) -> Sanic:
    """Open the engine and clients when a server starts, close them when it stops."""

    async def open_resources(app: Sanic) -> None:
        await start(settings)

    async def close_resources(app: Sanic) -> None:
        await stop()

    app.register_listener(open_resources, "before_server_start")
    app.register_listener(close_resources, "after_server_stop")
    return app


def configure_logging(settings: Settings) -> None:
    """JSON lines on stderr, levels from LOG_LEVEL and LOG_LEVELS (see actions/observability/logs.py)."""
    logs.configure(settings.log_level, logs.parse_levels(settings.log_levels))


def serve(app: Sanic, host: str, port: int, workers: int = 1) -> None:
    """Listen in one process, or in `workers` processes forked from this one: each opens its own engine
    and clients when it starts (`attach`), none are shared."""
    if workers == 1:
        app.run(host=host, port=port, single_process=True, access_log=False, motd=False)
        return
    Sanic.start_method = "fork"  # the workers inherit the app made here; spawned ones would need an importable one
    app.run(host=host, port=port, workers=workers, access_log=False, motd=False)
