"""Family groups (household, parents' home…), invites, and each resident's safety status (安否).

A resident may belong to several groups. A status belongs to the resident, not to a group:
every group they are in sees the same status. Each change is kept in
``safety_status_history`` (the PFIF notes of the export).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base

# PFIF-aligned vocabulary (see my_evacuation/pfif.py for the mapping to PFIF note status).
SAFETY_STATUSES = ("safe", "need_help", "at_shelter", "evacuated", "unknown")


class FamilyGroup(Base):
    __tablename__ = "family_groups"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    # An owner who erases their account: a trigger (migration e2b7c4a9d613) turns this SET NULL
    # into the longest member, so a group always has someone who can manage it.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"), index=True)
    max_members: Mapped[int] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FamilyMember(Base):
    __tablename__ = "family_members"
    __table_args__ = (CheckConstraint("role IN ('owner','member')", name="role"),)

    group_id: Mapped[int] = mapped_column(ForeignKey("family_groups.id", ondelete="CASCADE"), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True, index=True)
    display_name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(8))
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FamilyInvite(Base):
    __tablename__ = "family_invites"
    __table_args__ = (CheckConstraint("max_uses >= 1", name="max_uses_positive"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("family_groups.id", ondelete="CASCADE"), index=True)
    # sha256 of the code; the code itself is shown once, to its creator.
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    max_uses: Mapped[int] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, server_default="0")
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SafetyStatus(Base):
    __tablename__ = "safety_statuses"
    __table_args__ = (
        CheckConstraint("status IN ('safe','need_help','at_shelter','evacuated','unknown')", name="status"),
        CheckConstraint("share_location OR (lat IS NULL AND lon IS NULL)", name="location_only_if_shared"),
    )

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    shelter_id: Mapped[str | None] = mapped_column(Text)
    shelter_name: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(String(100))
    share_location: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Stored only when the resident opts in (the check constraint makes it so).
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SafetyStatusHistory(Base):
    __tablename__ = "safety_status_history"
    __table_args__ = (Index("ix_safety_status_history_resident", "resident_id", "version"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    shelter_id: Mapped[str | None] = mapped_column(Text)
    shelter_name: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(String(100))
    share_location: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
