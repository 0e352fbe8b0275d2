"""alert_events: in_force_until, set at ingest and indexed for the events still in force

Revision ID: b4d8e2f6a913
Revises: a91c3e5f7b24
Create Date: 2026-11-22 18:00:00

An event stays 'active' after its last alert expires (nobody issues an all-clear for an
earthquake report). Every pull, the console's list of active alerts and the shelter notices
computed "still in force" by joining every such event with its latest alert: a scan that grew
with every event ever received. The moment is now stored with the event and indexed, so
they read only the events in force; and the three agree on what "in force" means.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = 'b4d8e2f6a913'
down_revision = 'a91c3e5f7b24'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('alert_events', sa.Column('in_force_until', sa.DateTime(timezone=True), nullable=True))
    # Same rule as alerts.events.service.in_force_until: the latest alert's expiry, or a day
    # after the event's last issue for alerts without one (earthquake information, EEW).
    op.execute(
        "UPDATE alert_events e SET in_force_until = COALESCE(a.expires_at, e.last_issued_at + interval '24 hours') "
        "FROM alerts a WHERE a.id = e.latest_alert_id"
    )
    op.create_index(
        'ix_alert_events_in_force', 'alert_events', ['in_force_until'],
        postgresql_where=sa.text("state IN ('active', 'updated')"),
    )


def downgrade() -> None:
    op.drop_index('ix_alert_events_in_force', table_name='alert_events')
    op.drop_column('alert_events', 'in_force_until')
