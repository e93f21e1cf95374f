"""product aliases: the other names customers use for a product (Swahili, Sheng, a brand alone)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "products",
        sa.Column("aliases", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False),
        schema="commerce",
    )


def downgrade() -> None:
    op.drop_column("products", "aliases", schema="commerce")
