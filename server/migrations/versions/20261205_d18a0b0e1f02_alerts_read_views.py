"""views alerts packages define for other packages to read (issue 18: a table is queried only by its owner; another package reads a view
the owner defines, listed in the owner's models.py VIEWS)

Revision ID: d18a0b0e1f02
Revises: c18a0b0e1f01
Create Date: 2026-12-05 07:00:00
"""
from __future__ import annotations

from alembic import op

revision = 'd18a0b0e1f02'
down_revision = 'c18a0b0e1f01'
branch_labels = None
depends_on = None

# (name, SELECT ...) — created in this order, dropped in reverse.
VIEWS: list[tuple[str, str]] = [
    # alerts.events: an alert's areas and polygon, for targeting (alerts.targeting), whose
    # match statements join the polygon to the places in one statement on the fan-out's hot path.
    ("alert_areas", "SELECT id, received_at, source, category, payload->'areas' AS areas, geom FROM alerts"),
    # alerts.events: an event's state and an alert's header, for the pull's list of a resident's
    # events (alerts.delivery.pull_repository), which joins them to the resident's deliveries
    # in one statement on the surge's hottest personal route. Plain views: the planner inlines them.
    ("alert_event_states", "SELECT id, state, updated_at, in_force_until, latest_alert_id FROM alert_events"),
    ("alert_headers",
     "SELECT id, source, category, msg_type, headline, severity, issued_at, expires_at, is_drill FROM alerts"),
]


def upgrade() -> None:
    for name, select in VIEWS:
        op.execute(f"CREATE OR REPLACE VIEW {name} AS {select}")


def downgrade() -> None:
    for name, _select in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
