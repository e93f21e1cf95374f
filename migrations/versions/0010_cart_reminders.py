"""abandoned-cart reminders: a shop's setting, a customer's last message and opt-out, a cart's version

Revision ID: carts_phone_reminders
Revises: 0008
Create Date: 2026-12-07 20:30:00

A cart's version goes up with every change of its lines; the version a reminder was queued for is
kept on the cart, so a cart is reminded of once per version whatever the number of workers. The
customer's last message (noted by the action server on every turn) bounds WhatsApp's 24-hour window.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "carts_phone_reminders"
down_revision: str | None = "fulfilment_order_steps"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "commerce"


def upgrade() -> None:
    op.add_column(
        "tenants", sa.Column("cart_reminders", sa.Boolean(), server_default=sa.false(), nullable=False), schema=S
    )
    op.add_column(
        "tenants",
        sa.Column("cart_reminder_minutes", sa.Integer(), server_default="120", nullable=False),
        schema=S,
    )
    op.create_check_constraint(
        op.f("ck_tenants_cart_reminder_minutes_in_window"),
        "tenants",
        "cart_reminder_minutes BETWEEN 10 AND 1380",
        schema=S,
    )
    op.add_column("customers", sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True), schema=S)
    op.add_column("customers", sa.Column("reminders_off_at", sa.DateTime(timezone=True), nullable=True), schema=S)
    op.add_column("carts", sa.Column("version", sa.Integer(), server_default="1", nullable=False), schema=S)
    op.add_column("carts", sa.Column("reminded_version", sa.Integer(), nullable=True), schema=S)
    op.add_column("carts", sa.Column("reminder_sent_at", sa.DateTime(timezone=True), nullable=True), schema=S)
    op.create_index("ix_carts_updated_at", "carts", ["updated_at"], schema=S)


def downgrade() -> None:
    op.drop_index("ix_carts_updated_at", "carts", schema=S)
    for column in ("reminder_sent_at", "reminded_version", "version"):
        op.drop_column("carts", column, schema=S)
    for column in ("reminders_off_at", "last_message_at"):
        op.drop_column("customers", column, schema=S)
    op.drop_constraint(op.f("ck_tenants_cart_reminder_minutes_in_window"), "tenants", schema=S)
    for column in ("cart_reminder_minutes", "cart_reminders"):
        op.drop_column("tenants", column, schema=S)
