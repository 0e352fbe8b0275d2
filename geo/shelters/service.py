"""Shelter logic: nearest suitable shelters, registry import/export, staff status. Never commits."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from geo.shelters import repository
from geo.shelters.models import HAZARDS
from geo.shelters.records import ShelterRecord, crowding_level, normalize_name
from server.errors import AppError, NotFound

# The API caps a page at 50; the KNN pool is re-ranked by true distance (see repository.nearest).
MAX_LIMIT = 50
# 3x the page is ample for the planar/geodesic mismatch at Fukushima's latitude (≤ 1.3x).
KNN_POOL_FACTOR = 3
KNN_POOL_MIN = 30
# A CSV row with a new id but the same name within this distance is the row we already have
# (e.g. a municipality's file over GSI data): update it instead of listing the place twice.
IMPORT_MATCH_RADIUS_M = 50.0


def present(row: dict, *, hazard: str | None = None) -> dict:
    """A repository row as the API shows it."""
    out = dict(row)
    out["hazards"] = list(row.get("hazards") or [])
    out["crowding"] = crowding_level(row.get("occupancy"), row.get("capacity"))
    out["suitable_for"] = None if hazard is None else hazard in out["hazards"]
    if out.get("distance_m") is not None:
        out["distance_m"] = round(float(out["distance_m"]), 1)
    return out


def _check_point(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise AppError("lat must be in -90..90 and lon in -180..180", code="invalid_point", detail={"lat": lat, "lon": lon})


async def nearest(
    session: AsyncSession,
    *,
    lat: float,
    lon: float,
    hazard: str | None = None,
    is_open: bool | None = None,
    available: bool = False,
    limit: int = 10,
) -> list[dict]:
    _check_point(lat, lon)
    if hazard is not None and hazard not in HAZARDS:
        raise AppError(f"unknown hazard {hazard!r}; one of: {', '.join(HAZARDS)}", code="unknown_hazard")
    if not 1 <= limit <= MAX_LIMIT:
        raise AppError(f"limit must be 1..{MAX_LIMIT}", code="invalid_limit")
    rows = await repository.nearest(
        session,
        lat=lat,
        lon=lon,
        limit=limit,
        pool=max(limit * KNN_POOL_FACTOR, KNN_POOL_MIN),
        hazard=hazard,
        is_open=is_open,
        available=available,
    )
    return [present(r, hazard=hazard) for r in rows]


async def get(session: AsyncSession, shelter_id: str) -> dict:
    row = await repository.get(session, shelter_id)
    if row is None:
        raise NotFound(f"no shelter {shelter_id!r}")
    return present(row)


@dataclass
class ImportResult:
    inserted: int = 0
    updated: int = 0
    matched_existing: list[tuple[str, str]] = field(default_factory=list)  # (incoming id, existing id)


async def import_records(session: AsyncSession, records: Sequence[ShelterRecord]) -> ImportResult:
    """Upsert parsed records. A record whose id is new but which names a shelter we already
    hold (same municipality, same normalized name, within 50 m) updates that shelter."""
    result = ImportResult()
    known = await repository.existing_ids(session, (r.id for r in records))
    for r in records:
        if r.id not in known:
            for c in await repository.candidates_near(session, r.municipality_code, r.lat, r.lon, IMPORT_MATCH_RADIUS_M):
                if normalize_name(c["name"]) == normalize_name(r.name):
                    result.matched_existing.append((r.id, c["id"]))
                    r.id = c["id"]
                    break
        if await repository.upsert_one(session, r):
            result.inserted += 1
        else:
            result.updated += 1
    return result


async def export_rows(session: AsyncSession, municipality_code: str | None = None) -> AsyncIterator[dict]:
    async for row in repository.stream_for_export(session, municipality_code):
        yield row


async def set_status(
    session: AsyncSession,
    shelter_id: str,
    *,
    is_open: bool | None = None,
    occupancy: int | None = None,
    capacity: int | None = None,
    pets_allowed: bool | None = None,
    accessible: bool | None = None,
) -> dict:
    """For the staff flows (open/close, occupancy). Scope checks are the caller's."""
    for name, v in (("occupancy", occupancy), ("capacity", capacity)):
        if v is not None and v < 0:
            raise AppError(f"{name} must be ≥ 0", code=f"invalid_{name}")
    row = await repository.set_status(
        session,
        shelter_id,
        is_open=is_open,
        occupancy=occupancy,
        capacity=capacity,
        pets_allowed=pets_allowed,
        accessible=accessible,
    )
    if row is None:
        raise NotFound(f"no shelter {shelter_id!r}")
    return present(row)
