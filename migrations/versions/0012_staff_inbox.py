"""staff inbox: replies to customers waiting for a person, the assignee of a hand-off, canned replies

Revision ID: inbox_staff_inbox
Revises: shops_accounts
Create Date: 2026-12-07 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "inbox_staff_inbox"
down_revision: str | None = "shops_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("handoffs", sa.Column("assigned_to", sa.BigInteger(), nullable=True), schema="commerce")
    op.create_foreign_key(
        op.f("fk_handoffs_assigned_to_staff_users"), "handoffs", "staff_users", ["assigned_to"], ["id"],
        source_schema="commerce", referent_schema="commerce", ondelete="SET NULL",
    )  # fmt: skip
    op.create_table(
        "staff_replies",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("handoff_id", sa.BigInteger(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("staff_user_id", sa.BigInteger(), nullable=True),
        sa.Column("staff_name", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("length(text) BETWEEN 1 AND 4096", name=op.f("ck_staff_replies_text_length")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["commerce.tenants.id"], name=op.f("fk_staff_replies_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["commerce.handoffs.id"],
            name=op.f("fk_staff_replies_handoff_id_handoffs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["commerce.staff_users.id"],
            name=op.f("fk_staff_replies_staff_user_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_replies")),
        schema="commerce",
    )
    op.create_index(
        op.f("ix_staff_replies_conversation_id"), "staff_replies", ["conversation_id"], unique=False, schema="commerce"
    )
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("text_sw", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["commerce.tenants.id"],
            name=op.f("fk_canned_replies_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_replies")),
        sa.UniqueConstraint("tenant_id", "title", name=op.f("uq_canned_replies_tenant_id_title")),
        schema="commerce",
    )


def downgrade() -> None:
    op.drop_table("canned_replies", schema="commerce")
    op.drop_index(op.f("ix_staff_replies_conversation_id"), table_name="staff_replies", schema="commerce")
    op.drop_table("staff_replies", schema="commerce")
    op.drop_constraint(op.f("fk_handoffs_assigned_to_staff_users"), "handoffs", schema="commerce", type_="foreignkey")
    op.drop_column("handoffs", "assigned_to", schema="commerce")
