"""Shops and accounts: staff roles, one-time invites, each shop's own payment accounts (encrypted)

Revision ID: shops_accounts
Revises: 0008
Create Date: 2026-12-07 20:20:00

- staff_users.role: `operator` (platform staff: creates shops), `owner` (manages the shop's staff and
  payment accounts) or `staff`. Existing accounts stay `staff`; `actions.cli add-staff --role` sets one.
- staff_invites: a one-time link for a new member to set a password; only its SHA-256 is stored.
- payment_accounts: a shop's own M-Pesa till or paybill, or Paystack key. The secrets are one Fernet
  token (SHOP_SECRETS_KEY); a change is a new row and the old one inactive, never overwritten, because
  payments keep the account they were asked with (payments.account_id, NULL: the platform's).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "shops_accounts"
down_revision: str | None = "carts_phone_reminders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "staff_users",
        sa.Column("role", sa.String(16), server_default=sa.text("'staff'"), nullable=False),
        schema="commerce",
    )
    op.create_check_constraint("role_known", "staff_users", "role IN ('operator', 'owner', 'staff')", schema="commerce")
    op.create_table(
        "staff_invites",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "tenant_id", sa.BigInteger(), sa.ForeignKey("commerce.tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_by", sa.BigInteger(), sa.ForeignKey("commerce.staff_users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("role IN ('operator', 'owner', 'staff')", name="role_known"),
        schema="commerce",
    )
    op.create_table(
        "payment_accounts",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "tenant_id", sa.BigInteger(), sa.ForeignKey("commerce.tenants.id", ondelete="RESTRICT"), nullable=False
        ),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("settings", postgresql.JSONB(), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("secrets", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_by", sa.BigInteger(), sa.ForeignKey("commerce.staff_users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("provider IN ('mpesa', 'paystack')", name="provider_known"),
        schema="commerce",
    )
    op.create_index(
        "ix_payment_accounts_current",
        "payment_accounts",
        ["tenant_id", "provider"],
        unique=True,
        schema="commerce",
        postgresql_where=sa.text("active"),
    )
    op.add_column(
        "payments",
        sa.Column(
            "account_id",
            sa.BigInteger(),
            sa.ForeignKey("commerce.payment_accounts.id", ondelete="RESTRICT"),
            nullable=True,
        ),
        schema="commerce",
    )


def downgrade() -> None:
    op.drop_column("payments", "account_id", schema="commerce")
    op.drop_index("ix_payment_accounts_current", "payment_accounts", schema="commerce")
    op.drop_table("payment_accounts", schema="commerce")
    op.drop_table("staff_invites", schema="commerce")
    op.drop_column("staff_users", "role", schema="commerce")
