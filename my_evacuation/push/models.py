"""``push_log``: what the dry-run (log) provider "sent", one row per message, for ``make run``
without credentials. ``notifications``: one non-alert message per (resident, dedupe key); ``push_messages``:
one push per (device, message), the durable job store of the sending pipeline.

A ``push_messages`` row is written in the same transaction as what caused it (a delivery,
a notification), so Redis only carries wake-ups: a push job lost with Redis is found
again by the catch-up scan of queued rows (see ``my_evacuation.push.jobs``).
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
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base

# Read views this package defines for others (migrations): an alert's push rows by delivery,
# for alerts.delivery's latency figures (one statement joining its deliveries).
VIEWS = ("alert_push_rows",)

PUSH_STATUSES = ("queued", "ok", "dead_token", "permanent", "failed", "no_token")


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("resident_id", "dedupe_key"),
        # The relay only scans the unqueued tail.
        Index("ix_notifications_unqueued", "id", postgresql_where=text("queued_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    critical: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Push messages written for every device of the resident.
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # First device push accepted by a provider.
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PushMessage(Base):
    __tablename__ = "push_messages"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued','ok','dead_token','permanent','failed','no_token','superseded')", name="status"
        ),
        CheckConstraint("(delivery_id IS NULL) <> (notification_id IS NULL)", name="one_source"),
        # Catch-up scans only what is still to send.
        Index("ix_push_messages_queued", "id", postgresql_where=text("status = 'queued'")),
        Index("ix_push_messages_delivery", "delivery_id"),
        Index("ix_push_messages_notification", "notification_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    # Idempotency key: (delivery, device, alert) or (notification, device); a resend of the
    # same work never writes a second row.
    message_id: Mapped[str] = mapped_column(Text, unique=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    # alerts' deliveries.id; no FK because server never depends on a domain's tables.
    delivery_id: Mapped[int | None] = mapped_column(BigInteger)
    alert_id: Mapped[int | None] = mapped_column(BigInteger)
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    critical: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    status: Mapped[str] = mapped_column(String(16), default="queued", server_default="queued")
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    error_code: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Last time a push job naming this row was put on the stream (catch-up re-publishes stale ones).
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PushLogEntry(Base):
    __tablename__ = "push_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    # The idempotency key: a resend of the same message records nothing new.
    message_id: Mapped[str] = mapped_column(Text, unique=True)
    # No foreign key: this is a log of what would have gone out; devices come and go.
    device_id: Mapped[str] = mapped_column(Text, index=True)
    token: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    critical: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    collapse_key: Mapped[str | None] = mapped_column(Text)
    ttl_seconds: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
