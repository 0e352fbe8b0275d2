"""Shelter reads for other packages (my_evacuation's plans, guidance and plan reminders).

The same owner as :mod:`geo.shelters.repository`, kept apart while that module is reworked;
to be folded into it.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def by_ids(session: AsyncSession, ids: list[str]) -> dict[str, dict]:
    """id -> name, hazards, open/capacity/occupancy, designations, position, municipality."""
    if not ids:
        return {}
    rows = await session.execute(
        text(
            """SELECT id, name, hazards, is_open, capacity, occupancy, is_emergency_site, is_evacuation_center,
                      ST_Y(geom) AS lat, ST_X(geom) AS lon, municipality_code
               FROM shelters WHERE id = ANY(CAST(:ids AS text[]))"""
        ),
        {"ids": ids},
    )
    return {r.id: dict(r._mapping) for r in rows}


async def hazards_near(session: AsyncSession, lat: float, lon: float, radius_m: float) -> list[dict]:
    """The 20 nearest shelters within ``radius_m``: id, name, hazards, distance_m."""
    rows = await session.execute(
        text(
            """SELECT id, name, hazards,
                      ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) AS distance_m
               FROM shelters
               WHERE ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :r)
               ORDER BY distance_m LIMIT 20"""
        ),
        {"lat": lat, "lon": lon, "r": radius_m},
    )
    return [dict(r._mapping) for r in rows]
