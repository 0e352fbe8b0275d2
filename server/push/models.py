"""What the outbox provider "sent": one row per message, for ``make run`` without credentials."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base


class PushOutboxMessage(Base):
    __tablename__ = "push_outbox"

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
