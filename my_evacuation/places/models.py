"""Residents' places: registered places and each device's current location, pre-geocoded on write."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, CheckConstraint, Computed, DateTime, Float, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from geo.grid import CELL_SQL
from server.db import Base

PLACE_KINDS = ("home", "work", "school", "family", "other")
# Views other packages read (created in migration c18a0b0e1f01): the places targeting matches
# alerts against, in one statement with the alert's polygon (alerts.targeting.repository).
VIEWS = ("targetable_places",)


class Place(Base):
    """One row per registered place, and one per device for its current location (kind 'current').

    Every code a feed can target is stored with the place, so targeting by code is an
    index lookup and never a geometry test.
    """

    __tablename__ = "places"
    __table_args__ = (
        CheckConstraint("kind IN ('home','work','school','family','other','current')", name="kind"),
        CheckConstraint("(kind = 'current') = (device_id IS NOT NULL)", name="current_has_device"),
        # Registered places never expire: targeting tests ``expires_at`` alone (repository.LIVE).
        CheckConstraint("kind = 'current' OR expires_at IS NULL", name="only_current_expires"),
        Index("uq_places_current_device", "device_id", unique=True, postgresql_where=text("kind = 'current'")),
        Index("ix_places_municipality", "municipality_code"),
        Index("ix_places_jma_city", "jma_city_code"),
        Index("ix_places_jma_matome", "jma_matome_code"),
        Index("ix_places_jma_first", "jma_first_code"),
        Index("ix_places_quake", "quake_area_code"),
        Index("ix_places_tsunami", "tsunami_area_code"),
        # Covering: polygon targeting answers from the index alone (no heap visit per place),
        # including the exact point test for places in the polygon's boundary cells.
        Index(
            "ix_places_cell",
            "cell",
            postgresql_include=["resident_id", "id", "kind", "device_id", "expires_at", "geom"],
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)
    # Grid cell of the point (geo.grid): polygon targeting matches whole interior cells by index.
    cell: Mapped[int] = mapped_column(Integer, Computed(CELL_SQL, persisted=True))
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    municipality_code: Mapped[str | None] = mapped_column(String(6))
    jma_city_code: Mapped[str | None] = mapped_column(String(7))
    jma_matome_code: Mapped[str | None] = mapped_column(String(6))
    jma_first_code: Mapped[str | None] = mapped_column(String(6))
    jma_pref_code: Mapped[str | None] = mapped_column(String(6))
    quake_area_code: Mapped[str | None] = mapped_column(String(3))
    tsunami_area_code: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Current locations expire (settings.location_retention_hours); registered places do not.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
