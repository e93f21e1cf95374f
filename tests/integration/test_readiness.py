"""Readiness on real PostgreSQL: a process started against an older or newer schema says so, and how to fix it."""

import json
import re
from types import SimpleNamespace

import httpx
import psycopg
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import create_async_engine

from actions.observability import readiness
from actions.settings import async_database_url
from devstack.processes import start_sidecar
from devstack.services import Services
from tests.conftest import alembic

HEAD = readiness.code_head()


@pytest.fixture
async def resources(scratch_database, services):
    """What readiness looks at, for the scratch database: an engine and a Redis client."""
    engine = create_async_engine(async_database_url(scratch_database))
    redis = Redis.from_url(services.redis_url)
    yield SimpleNamespace(engine=engine, redis=redis)
    await redis.aclose()
    await engine.dispose()


async def test_a_sidecar_started_on_an_older_schema_warns_at_once_and_is_not_ready_until_migrated(
    scratch_database, services, tmp_path
):
    alembic(scratch_database, "upgrade", "0001")
    sidecar = start_sidecar(Services(scratch_database, services.redis_url), tmp_path, env={"METRICS_TOKEN": "probe"})
    try:
        async with httpx.AsyncClient(
            base_url=sidecar.url, timeout=30, headers={"Authorization": "Bearer probe"}
        ) as client:
            assert (await client.get("/health")).status_code == 200  # up, just not ready
            response = await client.get("/ready")
            expected = f"database at 0001, code expects {HEAD}: run `make migrate` (alembic upgrade head)"
            assert (response.status_code, response.json()) == (
                503,
                {"status": "not ready", "problems": {"schema": expected}},
            )
            warnings = [json.loads(line) for line in sidecar.log.read_text().splitlines() if "not ready" in line]
            assert [w["message"] for w in warnings] == [f"not ready: schema: {expected}"]

            alembic(scratch_database, "upgrade", "head")
            assert (await client.get("/ready")).json() == {"status": "ready"}
    finally:
        sidecar.stop()


async def test_a_database_migrated_by_newer_code_asks_for_that_code(scratch_database, resources):
    alembic(scratch_database, "upgrade", "head")
    with psycopg.connect(scratch_database) as conn:
        conn.execute("UPDATE commerce.alembic_version SET version_num = '0999_from_the_future'")
    assert await readiness.problems(resources) == {
        "schema": f"database at 0999_from_the_future, which this code does not know (its newest is {HEAD}): "
        "the database was migrated by newer code; deploy the code for revision 0999_from_the_future"
    }


async def test_a_database_never_migrated_asks_for_the_migration(resources):
    assert await readiness.problems(resources) == {
        "schema": f"database has no schema, code expects {HEAD}: run `make migrate` (alembic upgrade head)"
    }


async def test_a_migrated_database_and_a_live_redis_are_ready(scratch_database, resources):
    alembic(scratch_database, "upgrade", "head")
    assert await readiness.problems(resources) == {}


async def test_unreachable_database_and_redis_are_named():
    nowhere = SimpleNamespace(
        engine=create_async_engine("postgresql+psycopg://nobody@127.0.0.1:9/none"),
        redis=Redis.from_url("redis://127.0.0.1:9/0"),
    )
    found = await readiness.problems(nowhere)
    await nowhere.redis.aclose()
    await nowhere.engine.dispose()
    assert set(found) == {"database", "redis"}
    assert all(re.fullmatch(r"unreachable: \w+", problem) for problem in found.values())  # no hosts, no ports
