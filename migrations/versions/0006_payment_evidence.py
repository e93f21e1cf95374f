"""payment evidence: per-payment callback nonces, rotatable shop secrets, rejected messages kept apart,
a lock-free cache version

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00

- payments.callback_nonce: each payment's own secret in its M-Pesa callback URL.
- tenants.mpesa_callback_secret_previous, tenants.mpesa_callback_rotated_at: a rotated shop secret is
  still admitted for the payments asked for before the rotation.
- rejected_messages (+ rejected_message_counts, its hourly caps): forged, unreadable and unmatched
  provider messages, outside the append-only ledger. Rows already in payment_events without a payment
  stay there (the ledger is append-only); new ones go to rejected_messages.
- The cache version: revision 0003's trigger upserted one row per shop, so every writing transaction
  of a shop held that row's lock until it committed (one queue per shop, and deadlocks between orders
  that reserve overlapping products: each waits for a product the other locked while holding the
  version row). Now the trigger only inserts a row into cache_changes (once per shop and transaction;
  an insert makes no one wait), and a shop's version is its number of changes so far, counted in one
  statement (actions/db/cache.py). The worker folds the rows into cache_bases
  (commerce.compact_cache_changes()), which keeps the count and the epoch that sets a restored or
  emptied database's keys apart.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLOCK_MS = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"

NOTE_CHANGE = """
CREATE OR REPLACE FUNCTION commerce.bump_cache_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tenant bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END;
    noted text := coalesce(current_setting('commerce.cache_changed', true), '');
BEGIN
    -- Once per shop and transaction (the setting is local to the transaction, and undone with a savepoint).
    IF position(',' || tenant || ',' IN noted) = 0 THEN
        INSERT INTO commerce.cache_changes (tenant_id) VALUES (tenant);
        PERFORM set_config('commerce.cache_changed', noted || ',' || tenant || ',', true);
    END IF;
    RETURN NULL;
END $$
"""

# Folds every visible change row into its shop's base, in one statement: a reader's count of a shop's
# changes (base + rows, one snapshot) is the same before and after; rows of transactions still running
# are not visible, so not deleted, and count when they commit.
COMPACT = f"""
CREATE FUNCTION commerce.compact_cache_changes() RETURNS bigint LANGUAGE sql AS $$
    WITH gone AS (
        DELETE FROM commerce.cache_changes RETURNING tenant_id
    ), counted AS (
        SELECT tenant_id, count(*) AS n FROM gone GROUP BY tenant_id
    ), folded AS (
        INSERT INTO commerce.cache_bases AS base (tenant_id, epoch, changes)
        SELECT counted.tenant_id, {CLOCK_MS}, counted.n
        FROM counted JOIN commerce.tenants ON tenants.id = counted.tenant_id
        ON CONFLICT (tenant_id) DO UPDATE SET changes = base.changes + excluded.changes
        RETURNING 1
    )
    SELECT count(*) FROM gone
$$
"""

# Revision 0003's function, for the downgrade.
BUMP_CACHE_VERSION_0003 = """
CREATE OR REPLACE FUNCTION commerce.bump_cache_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tenant bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END;
BEGIN
    INSERT INTO commerce.cache_versions (tenant_id, version)
    VALUES (tenant, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
    ON CONFLICT (tenant_id) DO UPDATE SET version = commerce.cache_versions.version + 1;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.add_column(
        "tenants", sa.Column("mpesa_callback_secret_previous", sa.String(length=64), nullable=True), schema="commerce"
    )
    op.add_column(
        "tenants", sa.Column("mpesa_callback_rotated_at", sa.DateTime(timezone=True), nullable=True), schema="commerce"
    )
    op.add_column("payments", sa.Column("callback_nonce", sa.String(length=64), nullable=True), schema="commerce")
    op.create_index(
        "ix_payments_needing_review", "payments", ["tenant_id"], schema="commerce",
        postgresql_where=sa.text("needs_review"),
    )  # fmt: skip

    op.create_table(
        "rejected_messages",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("signed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("source_address", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=True),
        sa.Column("reference", sa.String(length=128), server_default="", nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejected_messages")),
        schema="commerce",
    )
    op.create_index("ix_rejected_messages_received_at", "rejected_messages", ["received_at"], schema="commerce")
    op.create_table(
        "rejected_message_counts",
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_address", sa.String(length=64), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "source_address", name=op.f("pk_rejected_message_counts")),
        schema="commerce",
    )

    op.create_table(
        "cache_changes",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cache_changes")),
        schema="commerce",
    )
    op.create_index("ix_cache_changes_tenant_id", "cache_changes", ["tenant_id"], schema="commerce")
    op.create_table(
        "cache_bases",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("changes", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["commerce.tenants.id"], name=op.f("fk_cache_bases_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_cache_bases")),
        schema="commerce",
    )
    op.execute(f"INSERT INTO commerce.cache_bases (tenant_id, epoch) SELECT id, {CLOCK_MS} FROM commerce.tenants")
    op.execute(NOTE_CHANGE)  # the triggers of 0003 (products, categories, orders, payments) now call this
    op.execute(COMPACT)
    op.drop_table("cache_versions", schema="commerce")


def downgrade() -> None:
    op.create_table(
        "cache_versions",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["commerce.tenants.id"], name=op.f("fk_cache_versions_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_cache_versions")),
        schema="commerce",
    )
    op.execute(BUMP_CACHE_VERSION_0003)
    op.execute("DROP FUNCTION commerce.compact_cache_changes()")
    op.drop_table("cache_bases", schema="commerce")
    op.drop_index("ix_cache_changes_tenant_id", table_name="cache_changes", schema="commerce")
    op.drop_table("cache_changes", schema="commerce")
    op.drop_table("rejected_message_counts", schema="commerce")
    op.drop_index("ix_rejected_messages_received_at", table_name="rejected_messages", schema="commerce")
    op.drop_table("rejected_messages", schema="commerce")
    op.drop_index("ix_payments_needing_review", table_name="payments", schema="commerce")
    op.drop_column("payments", "callback_nonce", schema="commerce")
    op.drop_column("tenants", "mpesa_callback_rotated_at", schema="commerce")
    op.drop_column("tenants", "mpesa_callback_secret_previous", schema="commerce")
