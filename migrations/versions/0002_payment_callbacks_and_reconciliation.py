"""payment callbacks and reconciliation

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 19:19:25.770091
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "payments", sa.Column("check_attempts", sa.Integer(), server_default="0", nullable=False), schema="commerce"
    )
    op.add_column("payments", sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True), schema="commerce")
    op.create_index(
        "ix_payments_status_next_check_at", "payments", ["status", "next_check_at"], unique=False, schema="commerce"
    )
    op.add_column("tenants", sa.Column("mpesa_callback_secret", sa.String(length=64), nullable=True), schema="commerce")
    # Shops created before this revision get their secret now (new ones get it when created).
    connection = op.get_bind()
    for (tenant_id,) in connection.execute(sa.text("SELECT id FROM commerce.tenants")).all():
        connection.execute(
            sa.text("UPDATE commerce.tenants SET mpesa_callback_secret = :secret WHERE id = :id"),
            {"secret": secrets.token_urlsafe(32), "id": tenant_id},
        )


def downgrade() -> None:
    op.drop_column("tenants", "mpesa_callback_secret", schema="commerce")
    op.drop_index("ix_payments_status_next_check_at", table_name="payments", schema="commerce")
    op.drop_column("payments", "next_check_at", schema="commerce")
    op.drop_column("payments", "check_attempts", schema="commerce")
