"""Evacuation information issued by staff (避難情報), and the named districts it can target.

One row per message: an original order, a correction (msg_type update) and a cancellation
(msg_type cancel) are each a row of the same chain (``root_id``), exactly as CAP and the
alert store see them.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base

# 0 = 解除 (lifted); 3 高齢者等避難, 4 避難指示, 5 緊急安全確保.
LEVELS = (0, 3, 4, 5)
NOTICE_STATES = ("draft", "pending_approval", "issued", "updated", "cancelled", "discarded")
TARGET_KINDS = ("municipality", "districts", "polygon")


class EvacuationNotice(Base):
    __tablename__ = "evacuation_notices"
    __table_args__ = (
        CheckConstraint("level IN (0,3,4,5)", name="level"),
        CheckConstraint(
            "state IN ('draft','pending_approval','issued','updated','cancelled','discarded')", name="state"
        ),
        CheckConstraint("msg_type IN ('alert','update','cancel')", name="msg_type"),
        CheckConstraint("target_kind IN ('municipality','districts','polygon')", name="target_kind"),
        # The two-person rule, in the database too: whoever approves did not draft.
        CheckConstraint("approved_by IS NULL OR approved_by <> created_by", name="second_person"),
        Index("ix_evacuation_notices_state", "state"),
        Index("ix_evacuation_notices_root_id", "root_id"),
        Index("ix_evacuation_notices_municipality_codes", "municipality_codes", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    # The chain: the original's id (an original's root_id is its own id).
    root_id: Mapped[int | None] = mapped_column(BigInteger)
    # The notice this one corrects or cancels.
    references_id: Mapped[int | None] = mapped_column(BigInteger)
    msg_type: Mapped[str] = mapped_column(String(8), server_default=text("'alert'"))
    state: Mapped[str] = mapped_column(String(20), server_default=text("'draft'"))
    level: Mapped[int] = mapped_column(SmallInteger)
    is_drill: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    template: Mapped[str] = mapped_column(String(32), server_default=text("'standard'"))
    target_kind: Mapped[str] = mapped_column(String(16))
    # Every municipality the target touches: the scope it is checked against.
    municipality_codes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    district_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default=text("'{}'::bigint[]"))
    # Drawn polygon or the union of the districts; NULL for whole municipalities.
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=True)
    # Staff free text, shown as written (marked untranslated).
    reason: Mapped[str | None] = mapped_column(Text)
    shelter_ids: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    # Rendered per language when issued: {lang: {headline, body}}.
    messages: Mapped[dict | None] = mapped_column(JSONB)
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    submitted_by: Mapped[int | None] = mapped_column(BigInteger)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[int | None] = mapped_column(BigInteger)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rejection_note: Mapped[str | None] = mapped_column(Text)
    issued_by: Mapped[int | None] = mapped_column(BigInteger)
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The stored alert (alerts.id) and the CAP identifier it went out under.
    alert_id: Mapped[int | None] = mapped_column(BigInteger)
    cap_identifier: Mapped[str | None] = mapped_column(Text)


class NoticeDistrict(Base):
    """A named part of a municipality (地区) an order can target, drawn once by its staff."""

    __tablename__ = "notice_districts"
    __table_args__ = (
        UniqueConstraint("municipality_code", "name"),
        CheckConstraint("municipality_code ~ '^[0-9]{6}$'", name="municipality_code_format"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    municipality_code: Mapped[str] = mapped_column(String(6))
    name: Mapped[str] = mapped_column(Text)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
