"""Fixtures of the action-side tests: a fresh migrated database per run, the demo shop, Redis.

The servers come from DATABASE_URL / REDIS_URL (set by `make test`, or by you), else embedded
ones are started. Each run works in its own database and Redis key prefix and removes them after.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import redis
from sqlalchemy import text
from sqlalchemy.engine import make_url

from actions import runtime
from actions.commerce.catalog_csv import parse_catalog
from actions.commerce.catalog_import import import_catalog
from actions.db.tables import SCHEMA, metadata
from actions.payments.providers import Providers
from actions.rasa_api import RasaConversations
from actions.settings import Settings
from devstack.paths import ACTIONS_VENV, DEMO_CATALOG, ROOT
from devstack.services import Services, ensure_services

RUN_ID = uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    started = ensure_services("test")
    yield started
    started.stop()


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def create_database(server_url: str, name: str) -> str:
    with psycopg.connect(with_database(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(with_database(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def alembic(database_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ACTIONS_VENV / "bin/alembic"), *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=True,
    )


@pytest.fixture
def scratch_database(services: Services) -> Iterator[str]:
    """An empty database of its own for one test (no schema), dropped after it."""
    name = f"shop_scratch_{uuid.uuid4().hex[:8]}"
    url = create_database(services.database_url, name)
    yield url
    drop_database(services.database_url, name)


@pytest.fixture(scope="session")
def database_url(services: Services) -> Iterator[str]:
    """A new database for this run, migrated to head by Alembic, dropped at the end."""
    name = f"shop_test_{RUN_ID}"
    url = create_database(services.database_url, name)
    alembic(url, "upgrade", "head")
    yield url
    drop_database(services.database_url, name)


@pytest.fixture(scope="session")
def settings(database_url: str, services: Services) -> Settings:
    os.environ["DATABASE_URL"] = database_url  # for code that reads Settings.from_env()
    return Settings.from_env()


@pytest.fixture(scope="session")
async def rt(settings: Settings) -> AsyncIterator[runtime.Runtime]:
    started = await runtime.start(settings)
    yield started
    await runtime.stop()


JOB_TABLES = ("procrastinate_jobs", "procrastinate_periodic_defers", "procrastinate_events")


async def truncate_all(rt: runtime.Runtime) -> None:
    tables = ", ".join([f"{SCHEMA}.{table.name}" for table in metadata.sorted_tables] + list(JOB_TABLES))
    async with rt.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


async def queued_messages(rt: runtime.Runtime, status: str | None = None) -> list[dict]:
    """The customers' messages in this run's job queue (the outbox), oldest first: the job's arguments,
    with its id, status, attempts, queueing lock and when it is due."""
    query = text(
        "SELECT id, status::text, attempts, queueing_lock, scheduled_at, args FROM procrastinate_jobs"
        " WHERE queue_name = :queue AND task_name = 'notify_payment'"
        " AND (CAST(:status AS text) IS NULL OR status::text = :status) ORDER BY id"
    )
    async with rt.engine.connect() as conn:
        rows = (await conn.execute(query, {"queue": rt.settings.jobs_queue, "status": status})).mappings().all()
    return [{**row["args"], **{k: v for k, v in row.items() if k != "args"}} for row in rows]


@pytest.fixture
async def db(rt: runtime.Runtime) -> runtime.Runtime:
    """An empty commerce schema."""
    await truncate_all(rt)
    return rt


@pytest.fixture
async def shop(db: runtime.Runtime) -> runtime.Runtime:
    """The demo shop, freshly loaded from seed/demo-shop.csv."""
    rows = parse_catalog(DEMO_CATALOG.read_text(), "KES")
    await import_catalog(db.uow(), "demo-shop", "Demo Shop", "KES", rows)
    return db


@pytest.fixture(scope="session")
def redis_key_prefix(services: Services) -> Iterator[str]:
    """This run's Redis keys (Rasa accepts only alphanumeric prefixes); removed at the end."""
    prefix = f"t{RUN_ID}"
    yield prefix
    client = redis.Redis.from_url(services.redis_url)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


@contextmanager
def settings_changed(rt: runtime.Runtime, **changes: object) -> Iterator[runtime.Runtime]:
    """The runtime with some settings changed (and the providers and conversations made from them)."""
    original = (rt.settings, rt.providers, rt.conversations)
    rt.settings = rt.settings.model_copy(update=changes)
    rt.providers = Providers(rt.settings, rt.http, rt.mpesa_tokens, runtime.ShopAccounts(rt))
    rt.conversations = RasaConversations(rt.http, rt.settings.rasa_url, rt.settings.rasa_token)
    try:
        yield rt
    finally:
        rt.settings, rt.providers, rt.conversations = original


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The fuzz suite and the sidecar's tests before the end-to-end ones: the end-to-end stack's worker
    stays up for the rest of the session, sharing the run's database. It would write its jobs into the
    fuzz suite's snapshot of what a refused request must not change, and claim the payment checks
    that the sidecar's tests run by hand (a check "due at once" was found already claimed)."""
    tests = Path(__file__).parent
    first = (tests / "fuzz", tests / "sidecar")

    def rank(item: pytest.Item) -> int:
        path = Path(str(item.path))
        return next((n for n, folder in enumerate(first) if path.is_relative_to(folder)), len(first))

    items.sort(key=rank)
