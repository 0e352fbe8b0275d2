"""alert_push_rows: the view my_evacuation.push defines so an alert's latency figures join
its event's deliveries to their pushes in one statement (alerts.delivery's repository), as
before the tables got one owner each, instead of shipping every delivery id of a 100,000-
resident event to Python and back

Revision ID: a18a0b0e1f04
Revises: f18a0b0e1f03
Create Date: 2026-12-05 08:30:00
"""
from __future__ import annotations

from alembic import op

revision = 'a18a0b0e1f04'
down_revision = 'f18a0b0e1f03'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE OR REPLACE VIEW alert_push_rows AS "
        "SELECT delivery_id, alert_id, status, sent_at, data->>'lane' AS lane FROM push_messages"
    )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS alert_push_rows")
