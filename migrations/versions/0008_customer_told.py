"""payments.customer_told_at: the customer's message about a payment's ending is applied once

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 19:30:00

Jobs are delivered at least once (a worker that stops mid-job has its job run again); the message
job notes here when Rasa took the message, and a second run of it tells nobody. Payments that ended
before this revision count as not told: none has a job waiting in procrastinate's queue (0007 is new).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "payments", sa.Column("customer_told_at", sa.DateTime(timezone=True), nullable=True), schema="commerce"
    )


def downgrade() -> None:
    op.drop_column("payments", "customer_told_at", schema="commerce")
