"""Knowledge tips opt-in: who wants periodic disaster-prevention tips, and when not to disturb them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, SmallInteger, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base


class KnowledgeSubscription(Base):
    __tablename__ = "knowledge_subscriptions"
    __table_args__ = (
        CheckConstraint("quiet_start_hour IS NULL OR quiet_start_hour BETWEEN 0 AND 23", name="quiet_start"),
        CheckConstraint("quiet_end_hour IS NULL OR quiet_end_hour BETWEEN 0 AND 23", name="quiet_end"),
    )

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    tips: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Seasonal plan-review reminders (before the rainy season, shelter changes).
    reminders: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # Local (Asia/Tokyo) hours; quiet from start to end, wrapping midnight (e.g. 22 → 7).
    quiet_start_hour: Mapped[int | None] = mapped_column(SmallInteger)
    quiet_end_hour: Mapped[int | None] = mapped_column(SmallInteger)
    last_tip_id: Mapped[str | None] = mapped_column(Text)
    last_tip_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
