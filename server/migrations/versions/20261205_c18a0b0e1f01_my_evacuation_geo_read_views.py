"""views my_evacuation and geo define for other packages to read (issue 18: a table is queried only by its owner; another package reads a view
the owner defines, listed in the owner's models.py VIEWS)

Revision ID: c18a0b0e1f01
Revises: e2b7c4a9d613
Create Date: 2026-12-05 07:00:00
"""
from __future__ import annotations

from alembic import op

revision = 'c18a0b0e1f01'
down_revision = 'e2b7c4a9d613'
branch_labels = None
depends_on = None

# (name, SELECT ...) — created in this order, dropped in reverse.
VIEWS: list[tuple[str, str]] = [
    # my_evacuation.residents: each device's push address, for the push fan-out and sending
    # statements (my_evacuation.push.repository), which join it to their rows in one statement.
    ("device_push_addresses",
     "SELECT id, resident_id, platform, push_kind, push_token, webpush_subscription FROM devices"),
    # my_evacuation.residents: a device's owner by its token hash, for the one-statement
    # authenticate-and-upsert of a current location (my_evacuation.places.repository).
    ("device_tokens", "SELECT id, resident_id, token_hash FROM devices"),
    # my_evacuation.places: what targeting matches alerts against (alerts.targeting.repository),
    # joined to an alert's polygon in one statement on the fan-out's hot path. A plain view:
    # the planner inlines it, so the index scans (codes, cell, GiST) are the table's own.
    ("targetable_places",
     "SELECT id, resident_id, device_id, kind, geom, cell, expires_at, updated_at, municipality_code, "
     "jma_city_code, jma_matome_code, jma_first_code, jma_pref_code, quake_area_code, tsunami_area_code FROM places"),
    # my_evacuation.residents: a resident's language and preferences, and a device's language,
    # for the pull (alerts.delivery.pull_repository), whose first statement reads them with the
    # clock and the read horizon in one round trip.
    ("resident_settings", "SELECT id, language, preferences FROM residents"),
    ("device_languages", "SELECT id, resident_id, language FROM devices"),
]


def upgrade() -> None:
    for name, select in VIEWS:
        op.execute(f"CREATE OR REPLACE VIEW {name} AS {select}")


def downgrade() -> None:
    for name, _select in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
