import os
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.fail("REDIS_URL is not set: run these tests through `make test`, which starts Redis")
    return url


@pytest.fixture
def key_prefix() -> str:
    return f"bot{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def archive_url():
    """A database of its own for this run, migrated by Alembic (from the action environment)."""
    import subprocess

    import psycopg2
    from sqlalchemy.engine import make_url

    server = os.environ.get("DATABASE_URL")
    if not server:
        pytest.fail("DATABASE_URL is not set: run these tests through `make test`, which starts PostgreSQL")

    def on(name: str) -> str:
        return make_url(server).set(database=name).render_as_string(hide_password=False)

    name = f"bot_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(on("postgres"))
    admin.autocommit = True
    for attempt in range(10):  # CREATE DATABASE fails while another one copies template1 at the same moment
        try:
            admin.cursor().execute(f'CREATE DATABASE "{name}"')
            break
        except psycopg2.errors.ObjectInUse:
            if attempt == 9:
                raise
            time.sleep(0.5)
    url = on(name)
    subprocess.run(
        [str(ROOT / ".venv/bin/alembic"), "upgrade", "head"],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": url}, check=True, capture_output=True,
    )  # fmt: skip
    yield url
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()
