"""My Evacuation sheets (マイ避難シート): one plan per (resident, place), every save a new version.

``evacuation_plans`` is the head (which version is current); ``evacuation_plan_versions``
keeps every saved body unchanged, so the history is exact and a save never loses the one
before it. ``place_id`` NULL is the resident's home plan (the sheet is drawn up for home).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, SmallInteger, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base


class EvacuationPlan(Base):
    __tablename__ = "evacuation_plans"
    __table_args__ = (
        # One plan per place; NULL place (home) counts once per resident.
        Index("uq_evacuation_plans_resident_place", "resident_id", text("COALESCE(place_id, 0)"), unique=True),
        Index("ix_evacuation_plans_place_id", "place_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    place_id: Mapped[int | None] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"))
    current_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EvacuationPlanVersion(Base):
    __tablename__ = "evacuation_plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "version"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("evacuation_plans.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict] = mapped_column(JSONB)
    completeness: Mapped[int] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PlanShelterWatch(Base):
    """What a plan's chosen shelters looked like when last seen, so a change of designation
    (hazards, emergency site / evacuation centre) or a closure for good prompts a review."""

    __tablename__ = "plan_shelter_watch"

    plan_id: Mapped[int] = mapped_column(ForeignKey("evacuation_plans.id", ondelete="CASCADE"), primary_key=True)
    # No FK: shelters live in another migration branch; a vanished shelter is itself a change.
    shelter_id: Mapped[str] = mapped_column(Text, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(Text)
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
