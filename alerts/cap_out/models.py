"""Every CAP 1.2 document we publish, stored as sent: the Atom feed and references read from here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base


class CapMessage(Base):
    __tablename__ = "cap_messages"
    __table_args__ = (Index("ix_cap_messages_sent_at", "sent_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    identifier: Mapped[str] = mapped_column(Text, unique=True)
    # What it announces: 'notice' (evacuation information) or 'shelter' (a shelter opened / closed).
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(Text)
    msg_type: Mapped[str] = mapped_column(String(8))
    is_drill: Mapped[bool] = mapped_column(Boolean)
    # CAP <sent>, second precision with offset, as written in the document.
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_text: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(Text)
    xml: Mapped[str] = mapped_column(Text)
