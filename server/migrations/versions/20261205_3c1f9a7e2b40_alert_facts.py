"""alert facts: product and Serial per alert, the danger's facts per event, told kinds

Revision ID: 3c1f9a7e2b40
Revises: b4d8e2f6a913
Create Date: 2026-12-05 03:50:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "3c1f9a7e2b40"
down_revision = "b4d8e2f6a913"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("alerts", sa.Column("product", sa.String(length=48), nullable=True))
    op.add_column("alerts", sa.Column("serial", sa.Integer(), nullable=True))
    op.create_index(
        "ix_alerts_event_product", "alerts",
        ["event_id", "product", sa.text("issued_at DESC"), sa.text("serial DESC NULLS LAST"), sa.text("id DESC")],
        unique=False,
    )
    op.add_column("alert_events", sa.Column("facts", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column(
        "deliveries",
        sa.Column("kinds", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("deliveries", "kinds")
    op.drop_column("alert_events", "facts")
    op.drop_index("ix_alerts_event_product", table_name="alerts")
    op.drop_column("alerts", "serial")
    op.drop_column("alerts", "product")
