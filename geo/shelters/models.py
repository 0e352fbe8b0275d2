"""Shelter registry: GSI-designated emergency sites (指定緊急避難場所) and evacuation centres (指定避難所).

A facility GSI lists in both sets is ONE row with both flags (see ``geo.shelters.gsi``).
Status (open, occupancy) is set by municipal staff; everything else comes from GSI data
or a 自治体標準オープンデータセット CSV import.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import Boolean, CheckConstraint, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base

# GSI designates emergency sites per hazard; the order is GSI's column order.
HAZARDS = ("flood", "landslide", "storm_surge", "earthquake", "tsunami", "large_fire", "inland_flood", "volcano")

SHELTER_SOURCES = ("gsi", "csv", "staff")


class Shelter(Base):
    __tablename__ = "shelters"
    __table_args__ = (
        CheckConstraint("source IN ('gsi','csv','staff')", name="source"),
        CheckConstraint(
            "hazards <@ ARRAY['flood','landslide','storm_surge','earthquake','tsunami',"
            "'large_fire','inland_flood','volcano']::text[]",
            name="hazards_known",
        ),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_nonneg"),
        CheckConstraint("occupancy IS NULL OR occupancy >= 0", name="occupancy_nonneg"),
        CheckConstraint("checked_in >= 0", name="checked_in_nonneg"),
        CheckConstraint("municipality_code ~ '^[0-9]{6}$'", name="municipality_code_format"),
        Index("ix_shelters_municipality", "municipality_code"),
    )

    # The standard dataset's ID (namespaced by municipality) or a stable GSI-derived id.
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    name_kana: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    municipality_code: Mapped[str] = mapped_column(String(6))
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)
    elevation_m: Mapped[float | None] = mapped_column(Float)
    is_emergency_site: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    is_evacuation_center: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    hazards: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    capacity: Mapped[int | None] = mapped_column(Integer)
    # The published free text (e.g. 「屋内480人／屋外3,350人」); capacity is parsed from it.
    capacity_text: Mapped[str | None] = mapped_column(Text)
    occupancy: Mapped[int | None] = mapped_column(Integer)
    # People checked in through the check-in codes (app or staff by hand), kept exact by the
    # check-in service in the same transaction as each check-in / check-out; occupancy moves
    # with it, and a staff head count resets occupancy (not this).
    checked_in: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # Bumped to rotate the shelter's check-in code: every printed code of an older version stops working.
    checkin_code_version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    is_open: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pets_allowed: Mapped[bool | None] = mapped_column(Boolean)
    accessible: Mapped[bool | None] = mapped_column(Boolean)
    phone: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    # 対象となる町会・自治会 as published (';'-separated in the standard).
    districts: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ShelterAlias(Base):
    """A municipality's own number for a shelter (自治体標準 ``ID`` as the municipality numbers it,
    e.g. いわき市 ``0001``) → the registry row. Filled when an import matches a municipal row to
    a GSI row we already hold, or by ``bousai shelters alias``; read when a CAP message names a
    shelter by the municipality's number."""

    __tablename__ = "shelter_aliases"

    municipality_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    local_id: Mapped[str] = mapped_column(Text, primary_key=True)
    shelter_id: Mapped[str] = mapped_column(ForeignKey("shelters.id", ondelete="CASCADE", onupdate="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ShelterCodeKey(Base):
    """HMAC keys for check-in codes, shared by every process through the database. The newest
    signs; older ones still verify until deleted (a key rotation does not void printed codes
    at once — a shelter's own code version does that)."""

    __tablename__ = "shelter_code_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    secret: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
