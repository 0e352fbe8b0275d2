"""outside_evacuations.during_events: the events a household evacuated for, to clear it when they end

Revision ID: 5e2a9c71d4b8
Revises: 0b5373f3f4e5
Create Date: 2026-12-05 04:05:00

A household outside shelters (車中泊, relatives…) is cleared from the roster once every alert
event it had been told of, in force when it said where it is, has ended; entries made with
no event in force keep their 24-hour expiry.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '5e2a9c71d4b8'
down_revision = '0b5373f3f4e5'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('outside_evacuations', sa.Column('during_events', postgresql.ARRAY(sa.BigInteger()),
                                                   server_default=sa.text("'{}'::bigint[]"), nullable=False))


def downgrade() -> None:
    op.drop_column('outside_evacuations', 'during_events')
