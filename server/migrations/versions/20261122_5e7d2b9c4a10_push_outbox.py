"""push outbox: what the outbox push provider would have sent

Revision ID: 5e7d2b9c4a10
Revises: 8a4b941f7a20
Create Date: 2026-11-22 11:20:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "5e7d2b9c4a10"
down_revision = "8a4b941f7a20"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_outbox",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("device_id", sa.Text(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("critical", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("collapse_key", sa.Text(), nullable=True),
        sa.Column("ttl_seconds", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_push_outbox_message_id")),
    )
    op.create_index(op.f("ix_push_outbox_created_at"), "push_outbox", ["created_at"], unique=False)
    op.create_index(op.f("ix_push_outbox_device_id"), "push_outbox", ["device_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_push_outbox_device_id"), table_name="push_outbox")
    op.drop_index(op.f("ix_push_outbox_created_at"), table_name="push_outbox")
    op.drop_table("push_outbox")
