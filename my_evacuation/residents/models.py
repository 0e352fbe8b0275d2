"""Residents and their devices. A resident is anonymous: a device's bearer token is the identity."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, LargeBinary, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base

PLATFORMS = ("android", "ios", "web")
PUSH_KINDS = ("fcm_token", "fcm_fid", "apns", "webpush")
# Read-only views for other packages' one-statement hot paths (created in migration
# c18a0b0e1f01): the push fan-out and sending join device_push_addresses; the current-location
# upsert authenticates through device_tokens; the pull's first statement reads a resident's
# preferences and language (resident_settings) and its device's language (device_languages).
VIEWS = ("device_push_addresses", "device_tokens", "resident_settings", "device_languages")


class Resident(Base):
    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    language: Mapped[str] = mapped_column(String(16), default="ja", server_default="ja")
    # Per-resident alert preferences (categories, thresholds, quiet hours); shape owned by alerts.
    preferences: Mapped[dict] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Device(Base):
    __tablename__ = "devices"
    __table_args__ = (
        CheckConstraint("platform IN ('android','ios','web')", name="platform"),
        CheckConstraint("push_kind IS NULL OR push_kind IN ('fcm_token','fcm_fid','apns','webpush')", name="push_kind"),
        # One live registration per push address: re-registering moves it, never duplicates it.
        Index("uq_devices_push", "push_kind", "push_token", unique=True, postgresql_where=text("push_token IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    push_kind: Mapped[str | None] = mapped_column(String(16))
    # FCM registration token / Firebase installation id / APNs device token / Web Push endpoint.
    push_token: Mapped[str | None] = mapped_column(Text)
    # Web Push: the whole subscription ({endpoint, keys: {p256dh, auth}}).
    webpush_subscription: Mapped[dict | None] = mapped_column(JSONB)
    language: Mapped[str] = mapped_column(String(16), default="ja")
    app_version: Mapped[str | None] = mapped_column(String(32))
    # sha256 of the bearer token; the token itself is never stored.
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    token_rotated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
