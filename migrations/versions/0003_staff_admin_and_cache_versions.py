"""staff users, audit log, hand-offs, API tokens, cache versions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every write to a shop's products, orders or payments moves its cache version on, so cached
# reads (catalog listings, the sales summary) under the old version are never served again.
# A shop's first version is the clock in milliseconds: a restored or emptied table never hands
# out a version that old cache entries already use.
BUMP_CACHE_VERSION = """
CREATE FUNCTION commerce.bump_cache_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tenant bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END;
BEGIN
    INSERT INTO commerce.cache_versions (tenant_id, version)
    VALUES (tenant, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
    ON CONFLICT (tenant_id) DO UPDATE SET version = commerce.cache_versions.version + 1;
    RETURN NULL;
END $$
"""
WATCHED = {
    "products": "INSERT OR UPDATE OR DELETE",
    "categories": "INSERT OR UPDATE OR DELETE",
    "orders": "INSERT OR UPDATE OR DELETE",
    "payments": "INSERT OR UPDATE OF status, needs_review OR DELETE",  # not every reconciliation reschedule
}


def upgrade() -> None:
    op.add_column("tenants", sa.Column("api_token_hash", sa.String(length=64), nullable=True), schema="commerce")
    op.create_unique_constraint(op.f("uq_tenants_api_token_hash"), "tenants", ["api_token_hash"], schema="commerce")
    op.create_table(
        "staff_users",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["commerce.tenants.id"], name=op.f("fk_staff_users_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("email", name=op.f("uq_staff_users_email")),
        schema="commerce",
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("staff_user_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["commerce.tenants.id"], name=op.f("fk_audit_log_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["commerce.staff_users.id"],
            name=op.f("fk_audit_log_staff_user_id_staff_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        schema="commerce",
    )
    op.create_index("ix_audit_log_tenant_id_subject", "audit_log", ["tenant_id", "subject"], schema="commerce")
    op.execute(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON commerce.audit_log "
        "FOR EACH ROW EXECUTE FUNCTION commerce.refuse_change()"
    )
    op.create_table(
        "handoffs",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["commerce.tenants.id"], name=op.f("fk_handoffs_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"],
            ["commerce.staff_users.id"],
            name=op.f("fk_handoffs_resolved_by_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoffs")),
        schema="commerce",
    )
    op.create_index(
        "ix_handoffs_waiting", "handoffs", ["tenant_id", "conversation_id"], unique=True,
        schema="commerce", postgresql_where=sa.text("resolved_at IS NULL"),
    )  # fmt: skip
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
    op.execute(BUMP_CACHE_VERSION)
    for table, events in WATCHED.items():
        op.execute(
            f"CREATE TRIGGER {table}_bump_cache_version AFTER {events} ON commerce.{table} "
            "FOR EACH ROW EXECUTE FUNCTION commerce.bump_cache_version()"
        )


def downgrade() -> None:
    for table in WATCHED:
        op.execute(f"DROP TRIGGER {table}_bump_cache_version ON commerce.{table}")
    op.execute("DROP FUNCTION commerce.bump_cache_version()")
    op.drop_table("cache_versions", schema="commerce")
    op.drop_index("ix_handoffs_waiting", table_name="handoffs", schema="commerce")
    op.drop_table("handoffs", schema="commerce")
    op.execute("DROP TRIGGER audit_log_append_only ON commerce.audit_log")
    op.drop_index("ix_audit_log_tenant_id_subject", table_name="audit_log", schema="commerce")
    op.drop_table("audit_log", schema="commerce")
    op.drop_table("staff_users", schema="commerce")
    op.drop_constraint(op.f("uq_tenants_api_token_hash"), "tenants", schema="commerce", type_="unique")
    op.drop_column("tenants", "api_token_hash", schema="commerce")
