"""one head: merge the domain branches

Revision ID: f0c45a2e61d6
Revises: 5e1a2b3c4d60, 5e7d2b9c4a10, 6b2f4e8d1a37, d7e1a0c5b9f2, d7e4a1b9c520
Create Date: 2026-11-22 11:58:49.505996
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import geoalchemy2


revision = 'f0c45a2e61d6'
down_revision = ('5e1a2b3c4d60', '5e7d2b9c4a10', '6b2f4e8d1a37', 'd7e1a0c5b9f2', 'd7e4a1b9c520')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
