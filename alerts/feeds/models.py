"""Feed polling state: per-feed conditional-GET validators and backoff, per-entry fetch record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base

# ok: parsed and ingested (or a document type we do not alert on) — never fetched again
# error: permanently unusable (malformed, hostile, too large, 4xx) — never fetched again
# retry: transient failure (5xx, timeout, database) — fetched again next cycle, up to a limit
# refused: link points off-site — never fetched
ENTRY_STATUSES = ("ok", "error", "retry", "refused")


class FeedState(Base):
    __tablename__ = "feed_state"

    url: Mapped[str] = mapped_column(Text, primary_key=True)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_polled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    consecutive_errors: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)


class FeedEntry(Base):
    __tablename__ = "feed_entries"
    __table_args__ = (CheckConstraint("status IN ('ok','error','retry','refused')", name="status"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    # Atom entry id (JMA uses the document URL); the key that makes each entry fetched once.
    entry_id: Mapped[str] = mapped_column(Text, unique=True)
    link: Mapped[str] = mapped_column(Text)
    feed_url: Mapped[str] = mapped_column(Text)
    entry_updated: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    alert_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
