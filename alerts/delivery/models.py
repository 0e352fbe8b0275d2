"""``deliveries``: the one authority on what each resident was told about each alert event.

One row per (resident, alert event), unique. A resident gets a row only when an alert of
the event reached them (``told``) or was held back by their quiet hours (``held``); the
row remembers the danger rank they were told, so an update re-notifies only on a rise,
and a lowering, an all-clear or a cancellation reaches exactly the rows that were told.
Per-device pushes (and their provider results) are ``push_messages`` rows with this
``delivery_id``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base

DELIVERY_STATUSES = ("told", "held", "lowered", "cleared", "cancelled")


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("resident_id", "event_id"),
        CheckConstraint("status IN ('told','held','lowered','cleared','cancelled')", name="status"),
        # The pull endpoint: a resident's deliveries changed since a cursor.
        Index("ix_deliveries_resident_updated", "resident_id", "updated_at"),
        Index("ix_deliveries_event", "event_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("alert_events.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(32))
    # told: a push went out at ``rank``; held: quiet hours held it back (nothing sent);
    # lowered / cleared / cancelled: the last message told them the danger went down / ended.
    status: Mapped[str] = mapped_column(String(16))
    # Danger rank of the last message sent (0 once cleared); see alerts.delivery.rank.
    rank: Mapped[int] = mapped_column(SmallInteger)
    # Highest rank this resident was ever told for the event.
    max_rank: Mapped[int] = mapped_column(SmallInteger)
    first_alert_id: Mapped[int] = mapped_column(BigInteger)
    last_alert_id: Mapped[int] = mapped_column(BigInteger)
    # Places that matched the last alert, and whether a device's current location did.
    place_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default=text("'{}'::bigint[]"))
    # Warning kinds the resident was told are in force (大雨, 洪水 …): a kind added to a
    # standing warning is news even when the level stays the same.
    kinds: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    current_location: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    critical: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    held_by_quiet_hours: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Pushes sent for this event (first message, rises, the end).
    messages_sent: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    told_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
