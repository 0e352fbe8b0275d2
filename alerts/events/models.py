"""Alerts (one row per document) grouped into events (one row per JMA EventID / CAP identifier chain).

``alert_outbox`` is written in the same transaction as the alert, so a stream entry
exists for exactly the alerts that committed (see ``alerts.events.outbox``).
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base

EVENT_STATES = ("active", "updated", "cancelled", "cleared")
MSG_TYPES = ("alert", "update", "cancel")
# Views other packages read (created in migration d18a0b0e1f02): an alert's areas and polygon
# for targeting's one-statement match against the places; an event's state and an alert's
# header for the pull's one statement of a resident's events (alerts.delivery.pull_repository).
VIEWS = ("alert_areas", "alert_event_states", "alert_headers")


class AlertEvent(Base):
    __tablename__ = "alert_events"
    __table_args__ = (
        # JMA reuses one EventID for everything about an earthquake (EEW, intensity reports,
        # tsunami warnings); for residents those are separate events with their own lifecycle.
        UniqueConstraint("source", "event_id", "category"),
        CheckConstraint("state IN ('active','updated','cancelled','cleared')", name="state"),
        Index("ix_alert_events_last_issued_at", "last_issued_at"),
        # What the pull, the console and shelter notices read: only the events in force.
        Index("ix_alert_events_in_force", "in_force_until", postgresql_where=text("state IN ('active', 'updated')")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(8))
    # JMA Head/EventID or the CAP identifier of the first alert of the chain.
    event_id: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="active")
    # Severity of the latest document, and the highest ever issued for the event.
    severity: Mapped[str | None] = mapped_column(String(16))
    max_severity: Mapped[str | None] = mapped_column(String(16))
    # No FK: alerts reference events, and an FK both ways would need deferred constraints.
    latest_alert_id: Mapped[int | None] = mapped_column(BigInteger)
    first_issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Until when the event counts as in force while active / updated (set with latest_alert_id:
    # ``alerts.events.service.in_force_until``).
    in_force_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The danger now (alerts.facts.GroupFacts as JSON): per area, over the newest
    # document of each product of the group. Every rule reads this, never one document.
    facts: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("source", "source_id"),
        CheckConstraint("msg_type IN ('alert','update','cancel')", name="msg_type"),
        Index("ix_alerts_area_codes", "area_codes", postgresql_using="gin"),
        Index("ix_alerts_issued_at", "issued_at"),
        # The newest document of each product of an event, in index order (ingest reads it).
        Index("ix_alerts_event_product", "event_id", "product", text("issued_at DESC"), text("serial DESC NULLS LAST"),
              text("id DESC")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(8))
    source_id: Mapped[str] = mapped_column(Text)
    event_id: Mapped[int] = mapped_column(ForeignKey("alert_events.id", ondelete="CASCADE"), index=True)
    msg_type: Mapped[str] = mapped_column(String(8))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    category: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str | None] = mapped_column(String(16))
    headline: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict] = mapped_column(JSONB)
    area_codes: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=True)
    is_drill: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Set when the delivery fan-out for this alert finished (alerts.delivery).
    fanned_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Product family (alerts.facts.Product.family) and JMA Serial: a product's newest
    # document is the one with the latest report time, then Serial.
    product: Mapped[str | None] = mapped_column(String(48))
    serial: Mapped[int | None] = mapped_column(Integer)


class AlertOutbox(Base):
    __tablename__ = "alert_outbox"
    __table_args__ = (
        # The relay only ever scans the unrelayed tail.
        Index("ix_alert_outbox_unrelayed", "id", postgresql_where=text("relayed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    relayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The stream entry the relay wrote, so a catch-up can tell whether Redis lost it.
    stream_entry_id: Mapped[str | None] = mapped_column(String(32))
