"""orders: the fulfilment steps (packed, out for delivery, delivered) and the step the customer was told of

Revision ID: fulfilment_order_steps
Revises: 0008
Create Date: 2026-12-07 20:30:00

`fulfilled` was in the schema but nothing moved an order there; any such row becomes `delivered`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fulfilment_order_steps"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW = "status IN ('pending_payment', 'paid', 'packed', 'out_for_delivery', 'delivered', 'cancelled', 'expired')"
OLD = "status IN ('pending_payment', 'paid', 'cancelled', 'expired', 'fulfilled')"


def upgrade() -> None:
    op.drop_constraint(op.f("ck_orders_status_known"), "orders", schema="commerce", type_="check")
    op.execute("UPDATE commerce.orders SET status = 'delivered' WHERE status = 'fulfilled'")
    op.create_check_constraint(op.f("ck_orders_status_known"), "orders", NEW, schema="commerce")
    op.add_column("orders", sa.Column("customer_told_status", sa.String(32), nullable=True), schema="commerce")


def downgrade() -> None:
    op.drop_column("orders", "customer_told_status", schema="commerce")
    op.drop_constraint(op.f("ck_orders_status_known"), "orders", schema="commerce", type_="check")
    moved_on = "('packed', 'out_for_delivery', 'delivered')"
    op.execute(f"UPDATE commerce.orders SET status = 'fulfilled' WHERE status IN {moved_on}")
    op.create_check_constraint(op.f("ck_orders_status_known"), "orders", OLD, schema="commerce")
