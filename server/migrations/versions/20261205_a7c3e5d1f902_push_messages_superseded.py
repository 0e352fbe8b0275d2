"""push_messages: status 'superseded' — an older product of an event not sent after a newer one

Revision ID: a7c3e5d1f902
Revises: 8d3f6b2e1c07
Create Date: 2026-12-05 04:30:00

With priority lanes a newer product of an event (a 津波警報, critical lane) can be sent
before an older one (the 津波注意報 it raised, alert lane). The sender then records the
older push as superseded instead of sending it: the phone collapses per event, so it
would otherwise replace what the resident should know now with what they knew before.
"""
from __future__ import annotations

from alembic import op

revision = 'a7c3e5d1f902'
down_revision = '8d3f6b2e1c07'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint(op.f('ck_push_messages_status'), 'push_messages', type_='check')
    op.create_check_constraint(
        op.f('ck_push_messages_status'), 'push_messages',
        "status IN ('queued','ok','dead_token','permanent','failed','no_token','superseded')",
    )


def downgrade() -> None:
    op.execute("UPDATE push_messages SET status = 'permanent', error_code = 'superseded' WHERE status = 'superseded'")
    op.drop_constraint(op.f('ck_push_messages_status'), 'push_messages', type_='check')
    op.create_check_constraint(
        op.f('ck_push_messages_status'), 'push_messages',
        "status IN ('queued','ok','dead_token','permanent','failed','no_token')",
    )
