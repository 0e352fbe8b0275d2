"""Audit log: who did what to which thing, with the state before and after. Append-only.

The API never updates or deletes a row, and the migration adds a trigger that refuses
UPDATE and DELETE in the database too (TRUNCATE, for test resets, is a different privilege).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_target", "target_type", "target_id"),
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_municipality_code", "municipality_code"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # No FK to staff_accounts: the log must outlive (and never block changes to) accounts.
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_username: Mapped[str] = mapped_column(Text)
    actor_role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(Text)
    # The municipality the change concerns (NULL: prefecture-wide), so municipal staff see their own.
    municipality_code: Mapped[str | None] = mapped_column(String(6))
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)
