"""push_outbox → push_log: the dry-run provider's record of what it would have sent is a log,
not an outbox (the service's one outbox is alert_outbox); its constraints and indexes follow

Revision ID: f18a0b0e1f03
Revises: d18a0b0e1f02
Create Date: 2026-12-05 07:30:00
"""
from __future__ import annotations

from alembic import op

revision = 'f18a0b0e1f03'
down_revision = 'd18a0b0e1f02'
branch_labels = None
depends_on = None

RENAMES = [
    ("ALTER TABLE {old} RENAME TO {new}", "push_outbox", "push_log"),
    ("ALTER TABLE push_log RENAME CONSTRAINT {old} TO {new}", "pk_push_outbox", "pk_push_log"),
    ("ALTER TABLE push_log RENAME CONSTRAINT {old} TO {new}", "uq_push_outbox_message_id", "uq_push_log_message_id"),
    ("ALTER INDEX {old} RENAME TO {new}", "ix_push_outbox_created_at", "ix_push_log_created_at"),
    ("ALTER INDEX {old} RENAME TO {new}", "ix_push_outbox_device_id", "ix_push_log_device_id"),
    ("ALTER SEQUENCE {old} RENAME TO {new}", "push_outbox_id_seq", "push_log_id_seq"),
]


def upgrade() -> None:
    for sql, old, new in RENAMES:
        op.execute(sql.format(old=old, new=new))


def downgrade() -> None:
    for sql, old, new in reversed(RENAMES):
        op.execute(sql.format(old=new, new=old))
