"""Alembic owns the schema: the models match it, there is one head, and it goes down and up with data."""

import uuid

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from procrastinate.schema import SchemaManager
from sqlalchemy import create_engine

from actions.db.tables import SCHEMA, metadata
from devstack.paths import ROOT
from tests.conftest import alembic, create_database, drop_database


def sync_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def test_there_is_exactly_one_head():
    assert len(ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini"))).get_heads()) == 1


def test_the_models_match_the_migrated_schema(database_url):
    engine = create_engine(sync_url(database_url))
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_schemas": True,
                "version_table_schema": SCHEMA,
                "include_name": lambda name, type_, _: name == SCHEMA if type_ == "schema" else True,
                "compare_type": True,
                "compare_server_default": True,
            },
        )
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_downgrade_to_base_and_upgrade_again_on_a_database_with_data(scratch_database):
    alembic(scratch_database, "upgrade", "head")
    with psycopg.connect(scratch_database) as conn:
        conn.execute("INSERT INTO commerce.tenants (slug, name, currency) VALUES ('s', 'S', 'KES')")
        conn.execute(
            "INSERT INTO commerce.categories (tenant_id, slug, name) SELECT id, 'c', 'C' FROM commerce.tenants"
        )
        conn.execute(
            "INSERT INTO commerce.products (tenant_id, category_id, sku, name, price_minor, currency, stock)"
            " SELECT tenant_id, id, 'P', 'P', 100, 'KES', 1 FROM commerce.categories"
        )
    alembic(scratch_database, "downgrade", "base")
    with psycopg.connect(scratch_database) as conn:
        assert conn.execute("SELECT to_regclass('commerce.products')").fetchone() == (None,)
    alembic(scratch_database, "upgrade", "head")
    with psycopg.connect(scratch_database) as conn:
        assert conn.execute("SELECT count(*) FROM commerce.products").fetchone() == (0,)
        head = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini"))).get_current_head()
        assert conn.execute("SELECT version_num FROM commerce.alembic_version").fetchone() == (head,)


PROCRASTINATE_CATALOG = """
SELECT 'column', table_name || '.' || column_name || ' ' || data_type || ' ' || coalesce(column_default, '')
  FROM information_schema.columns WHERE table_schema = 'public' AND table_name LIKE 'procrastinate%'
UNION ALL SELECT 'index', indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename LIKE 'procrastinate%'
UNION ALL SELECT 'routine', p.oid::regprocedure::text || ' ' || md5(prosrc)
  FROM pg_proc p WHERE pronamespace = 'public'::regnamespace AND proname LIKE 'procrastinate%'
UNION ALL SELECT 'enum', t.typname || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
  FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid WHERE t.typname LIKE 'procrastinate%' GROUP BY t.typname
UNION ALL SELECT 'trigger', tgrelid::regclass::text || ' ' || tgname FROM pg_trigger WHERE tgname LIKE 'procrastinate%'
"""


def test_alembic_gives_procrastinate_the_schema_its_release_ships(scratch_database, services):
    """Revision 0007 replays procrastinate's migration files; they must add up to its schema.sql."""
    alembic(scratch_database, "upgrade", "head")
    name = f"shop_procrastinate_{uuid.uuid4().hex[:8]}"
    shipped = create_database(services.database_url, name)
    try:
        with psycopg.connect(shipped) as conn:
            conn.execute(SchemaManager.get_schema())
        catalogs = []
        for url in (scratch_database, shipped):
            with psycopg.connect(url) as conn:
                catalogs.append(sorted(conn.execute(PROCRASTINATE_CATALOG).fetchall()))
    finally:
        drop_database(services.database_url, name)
    migrated, expected = catalogs
    assert len(expected) > 50 and migrated == expected


def test_payment_events_are_append_only(database_url):
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO commerce.payment_events (provider, event_key, kind, payload)"
            " VALUES ('mpesa', 'k-append-only', 'callback', '{}')"
        )
        conn.commit()
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE commerce.payment_events SET kind = 'x' WHERE event_key = 'k-append-only'")
        conn.rollback()
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("DELETE FROM commerce.payment_events WHERE event_key = 'k-append-only'")


def test_shops_that_existed_before_payments_get_a_callback_secret(scratch_database):
    alembic(scratch_database, "upgrade", "0001")
    with psycopg.connect(scratch_database) as conn:
        conn.execute("INSERT INTO commerce.tenants (slug, name, currency) VALUES ('old', 'Old', 'KES')")
    alembic(scratch_database, "upgrade", "head")
    with psycopg.connect(scratch_database) as conn:
        [(secret,)] = conn.execute("SELECT mpesa_callback_secret FROM commerce.tenants").fetchall()
    assert secret is not None and len(secret) >= 32
