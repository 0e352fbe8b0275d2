"""places: only a current location expires

Revision ID: a91c3e5f7b24
Revises: f0c45a2e61d6
Create Date: 2026-11-22 18:10:00

Targeting's "does this place count now" test reads ``expires_at`` alone once registered places
can never carry one (no text comparison of ``kind`` for each of a polygon's 370k places).
"""
from __future__ import annotations

from alembic import op


revision = 'a91c3e5f7b24'
down_revision = 'f0c45a2e61d6'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE places SET expires_at = NULL WHERE kind <> 'current' AND expires_at IS NOT NULL")
    op.create_check_constraint(op.f('ck_places_only_current_expires'), 'places', "kind = 'current' OR expires_at IS NULL")


def downgrade() -> None:
    op.drop_constraint(op.f('ck_places_only_current_expires'), 'places', type_='check')
