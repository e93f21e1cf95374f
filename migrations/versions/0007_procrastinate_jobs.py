"""procrastinate's job queue: the outbox that settlements write their effects into

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 19:00:00

The worker's jobs live in this database so that a settlement writes its customer's message in its
own transaction (actions/jobs.py). procrastinate's tables, types and functions are its own, in the
`public` schema (its functions name them unqualified, so they stay on every connection's default
search path), all named `procrastinate_…`. Alembic applies procrastinate's own migration files, in
the order of their names, up to `LAST`, as procrastinate's Django integration does: a later
procrastinate release gets a revision applying its files after `LAST`, so every database, new or
old, runs the same SQL. Downgrading drops every `procrastinate_…` object, with the jobs in them.

A file that adds enum values runs in its own transaction (PostgreSQL uses a new value only once it
is committed), so an upgrade that fails after one leaves procrastinate's schema half made at
revision 0006: run `downgrade()`'s SQL by hand (or restore), then upgrade again.
"""

from collections.abc import Sequence
from importlib import resources

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LAST = "03.04.00_50_post_add_retry_failed_job_procedure.sql"  # procrastinate 3.4 to 3.10

DROP_EVERYTHING = """
DO $$
DECLARE
    item record;
BEGIN
    FOR item IN SELECT format('DROP TABLE IF EXISTS public.%I CASCADE', relname) AS sql
        FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relname LIKE 'procrastinate\\_%'
    LOOP EXECUTE item.sql; END LOOP;
    FOR item IN SELECT format('DROP ROUTINE IF EXISTS %s CASCADE', p.oid::regprocedure) AS sql
        FROM pg_proc p WHERE pronamespace = 'public'::regnamespace AND proname LIKE 'procrastinate\\_%'
    LOOP EXECUTE item.sql; END LOOP;
    FOR item IN SELECT format('DROP TYPE IF EXISTS public.%I CASCADE', typname) AS sql
        FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typtype IN ('e', 'c')
          AND typname LIKE 'procrastinate\\_%'
          AND NOT EXISTS (SELECT 1 FROM pg_class WHERE pg_class.oid = pg_type.typrelid AND relkind <> 'c')
    LOOP EXECUTE item.sql; END LOOP;
END
$$;
"""


def procrastinate_migrations(after: str | None, last: str) -> list[str]:
    """The SQL of procrastinate's migration files after `after` (None: from its first) up to `last`."""
    files = sorted(
        (f for f in resources.files("procrastinate.sql.migrations").iterdir() if f.name.endswith(".sql")),
        key=lambda f: f.name,
    )
    names = [f.name for f in files]
    if last not in names:
        raise RuntimeError(f"the installed procrastinate has no migration {last}: install the locked version")
    return [f.read_text(encoding="utf-8") for f in files if (after is None or f.name > after) and f.name <= last]


def run_script(sql: str) -> None:
    """A whole file in one simple-protocol statement: several commands, `%` left as it is."""
    op.get_bind().exec_driver_sql(sql.replace("%", "%%"))


def upgrade() -> None:
    for sql in procrastinate_migrations(None, LAST):
        if "ADD VALUE" in sql:  # an enum's new value can be used only once it is committed
            with op.get_context().autocommit_block():
                run_script(sql)
        else:
            run_script(sql)


def downgrade() -> None:
    run_script(DROP_EVERYTHING)
