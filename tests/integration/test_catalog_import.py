"""The catalog import tool merchants run: all rows or none, with errors they can act on."""

import os
import subprocess

from sqlalchemy import func, select

from actions.db import tables as t
from devstack.paths import ACTIONS_VENV, DEMO_CATALOG, ROOT


def import_catalog(database_url, path, *extra):
    return subprocess.run(
        [
            str(ACTIONS_VENV / "bin/python"),
            "-m",
            "actions.cli",
            "import-catalog",
            str(path),
            "--tenant",
            "corner",
            *extra,
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
    )


async def count_products(rt):
    async with rt.sessions() as session:
        return await session.scalar(select(func.count()).select_from(t.Product))


async def test_imports_the_demo_catalog_and_updates_it_by_sku(db, database_url):
    first = import_catalog(database_url, DEMO_CATALOG, "--name", "Corner Shop")
    assert first.returncode == 0, first.stderr
    assert "35 products in 7 categories" in first.stdout
    again = import_catalog(database_url, DEMO_CATALOG)
    assert again.returncode == 0
    assert await count_products(db) == 35


async def test_a_file_with_one_bad_row_imports_nothing(db, database_url, tmp_path):
    bad = tmp_path / "catalog.csv"
    bad.write_text("sku,name,category,price,stock\nA-1,Rice,Food,120,5\nB-2,Beans,Food,12.345,5\n")
    result = import_catalog(database_url, bad)
    assert result.returncode == 1
    assert "line 3, column price" in result.stderr
    assert "nothing imported" in result.stderr
    assert await count_products(db) == 0


async def test_only_if_new_leaves_an_existing_shop_alone(db, database_url, tmp_path):
    assert import_catalog(database_url, DEMO_CATALOG).returncode == 0
    small = tmp_path / "small.csv"
    small.write_text("sku,name,category,price,stock\nNEW-1,New thing,Food,10,1\n")
    result = import_catalog(database_url, small, "--only-if-new")
    assert result.returncode == 0
    assert "already loaded" in result.stdout
    assert await count_products(db) == 35
