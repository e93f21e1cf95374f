"""Is this process ready to serve: database and Redis reachable, and the schema the one the code expects."""

from __future__ import annotations

import asyncio
import logging
from functools import cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import text

from actions import runtime
from actions.db.tables import SCHEMA

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"
CHECK_TIMEOUT_SECONDS = 3

log = logging.getLogger("observability.readiness")


@cache
def migrations() -> ScriptDirectory:
    return ScriptDirectory.from_config(Config(str(ALEMBIC_INI)))


def code_head() -> str:
    return migrations().get_current_head() or "base"


def schema_problem(database_revision: str | None, head: str) -> str | None:
    """What to do when the database's revision is not the code's head; None when they match."""
    if database_revision == head:
        return None
    if database_revision is None:
        return f"database has no schema, code expects {head}: run `make migrate` (alembic upgrade head)"
    try:
        known = migrations().get_revision(database_revision) is not None
    except CommandError:
        known = False
    if known:
        return f"database at {database_revision}, code expects {head}: run `make migrate` (alembic upgrade head)"
    return (
        f"database at {database_revision}, which this code does not know (its newest is {head}): "
        f"the database was migrated by newer code; deploy the code for revision {database_revision}"
    )


async def database_revision(rt: runtime.Runtime) -> str | None:
    async with rt.engine.connect() as conn:
        if await conn.scalar(text(f"SELECT to_regclass('{SCHEMA}.alembic_version')")) is None:
            return None
        return await conn.scalar(text(f"SELECT version_num FROM {SCHEMA}.alembic_version"))


def unreachable(component: str, error: Exception) -> str:
    """What /ready says of a component it cannot reach: the kind of error; its text (hosts, users) goes to the log."""
    log.warning("not ready: %s unreachable: %s: %s", component, type(error).__name__, error)
    return f"unreachable: {type(error).__name__}"


async def problems(rt: runtime.Runtime) -> dict[str, str]:
    """What is wrong, by component ("database", "schema", "redis"); empty when ready."""
    found = {}
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            revision = await database_revision(rt)
    except Exception as e:
        found["database"] = unreachable("database", e)
    else:
        if problem := schema_problem(revision, code_head()):
            found["schema"] = problem
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await rt.redis.ping()
    except Exception as e:
        found["redis"] = unreachable("redis", e)
    return found


async def warn_if_not_ready(rt: runtime.Runtime) -> None:
    """At start-up: say now what would otherwise surface later as a missing column."""
    for component, problem in (await problems(rt)).items():
        log.warning("not ready: %s: %s", component, problem)
