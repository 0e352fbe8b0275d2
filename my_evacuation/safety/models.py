"""Safety checks (安否確認): one per (resident, alert event), however many updates the event gets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base


class SafetyCheck(Base):
    __tablename__ = "safety_checks"
    __table_args__ = (
        UniqueConstraint("resident_id", "event_key"),
        # The reminder job scans only unanswered checks that still have a reminder due.
        Index("ix_safety_checks_due", "next_reminder_at",
              postgresql_where=text("answered_at IS NULL AND next_reminder_at IS NOT NULL")),
        Index("ix_safety_checks_event", "event_key"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    # "<source>:<event id>" of the alert event (JMA EventID / CAP first identifier).
    event_key: Mapped[str] = mapped_column(Text)
    # The alert that started it (no FK: alerts live in another domain and migration branch).
    alert_id: Mapped[int | None] = mapped_column(BigInteger)
    category: Mapped[str] = mapped_column(String(32))
    # Why it started, e.g. "intensity 5+", "tsunami warning", "evacuation level 4".
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answer_status: Mapped[str | None] = mapped_column(String(16))
    reminders_sent: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    next_reminder_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
