"""Evacuees: who checked in at which shelter (with the shelter's code, or by staff by hand),
households staying outside shelters (車中泊, relatives, upstairs at home), and the keys that
sign the shelters' check-in codes.

A check-in row is written once per (submitter, client id): phones queue check-ins while the
network is down and send them late or twice, so the client's id makes a repeat a no-op and
the client's own timestamp orders them. ``state`` is ``in`` (counted in the shelter's
occupancy), ``out`` (checked out) or ``moved`` (a later check-in elsewhere took over).
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

# What staff plan for at the door (PRODUCT: care, medical, pets, allergies), plus mobility and infants.
NEEDS = ("care", "medical", "pets", "allergies", "mobility", "infant")
WHEREABOUTS = ("car", "relatives", "home_upstairs", "elsewhere")
CHECKIN_STATES = ("in", "out", "moved")


class ShelterCheckin(Base):
    __tablename__ = "shelter_checkins"
    __table_args__ = (
        UniqueConstraint("submitted_by", "client_id"),
        CheckConstraint("state IN ('in','out','moved')", name="state"),
        CheckConstraint("headcount BETWEEN 1 AND 100", name="headcount"),
        CheckConstraint(
            "needs <@ ARRAY['care','medical','pets','allergies','mobility','infant']::text[]", name="needs_known"
        ),
        CheckConstraint("resident_id IS NOT NULL OR staff_id IS NOT NULL", name="has_submitter"),
        # The roster and the live count read only who is in.
        Index("ix_shelter_checkins_in", "shelter_id", postgresql_where=text("state = 'in'")),
        Index("ix_shelter_checkins_municipality_in", "municipality_code", postgresql_where=text("state = 'in'")),
        Index("ix_shelter_checkins_resident", "resident_id", "checked_in_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    # "resident:<id>" or "staff:<id>": a client id is unique per submitter, never across them,
    # so nobody can replay (or read back) another's check-in by guessing its id.
    submitted_by: Mapped[str] = mapped_column(String(40))
    client_id: Mapped[str] = mapped_column(String(64))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    staff_id: Mapped[int | None] = mapped_column(BigInteger)
    shelter_id: Mapped[str] = mapped_column(ForeignKey("shelters.id", ondelete="CASCADE", onupdate="CASCADE"))
    municipality_code: Mapped[str] = mapped_column(String(6))
    headcount: Mapped[int] = mapped_column(SmallInteger)
    # Household members as the plan lists them (label, age band, needs), or as staff typed them.
    members: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    needs: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    note: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(8))
    checked_in_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the client's clock
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    checked_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checkout_client_id: Mapped[str | None] = mapped_column(String(64))


class OutsideEvacuation(Base):
    """A household evacuated but not in a shelter; one row per resident, cleared by the resident,
    when the events it evacuated for end, or when it expires (a day after the last update
    unless renewed)."""

    __tablename__ = "outside_evacuations"
    __table_args__ = (
        CheckConstraint("whereabouts IN ('car','relatives','home_upstairs','elsewhere')", name="whereabouts"),
        CheckConstraint("headcount BETWEEN 1 AND 100", name="headcount"),
        CheckConstraint(
            "needs <@ ARRAY['care','medical','pets','allergies','mobility','infant']::text[]", name="needs_known"
        ),
        CheckConstraint("share_location OR (lat IS NULL AND lon IS NULL)", name="location_only_shared"),
        Index("ix_outside_evacuations_municipality", "municipality_code"),
        Index("ix_outside_evacuations_expires_at", "expires_at"),
    )

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    whereabouts: Mapped[str] = mapped_column(String(16))
    headcount: Mapped[int] = mapped_column(SmallInteger)
    members: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    needs: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    note: Mapped[str | None] = mapped_column(String(200))
    share_location: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    # Whose roster it is on: where the household is (a shared location), else its home.
    municipality_code: Mapped[str | None] = mapped_column(String(6))
    # The alert events in force that the household had been told of when it last said where it
    # is: once none of them is in force any more, the entry is cleared (the event ended).
    during_events: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default=text("'{}'::bigint[]"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
