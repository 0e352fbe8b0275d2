"""Places: every write is geocoded and stores the codes the feeds target by."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from geo.areas.geocoder import AreaCodes, Geocoder
from my_evacuation.places import repository as repo
from my_evacuation.residents import repository as residents_repo
from my_evacuation.places.schemas import LocationIn, PlaceIn, PlacePatch
from server.errors import AppError, LimitExceeded, NotFound


def codes_of_row(row) -> AreaCodes | None:
    if row["municipality_code"] is None:
        return None
    return AreaCodes(
        municipality_code=row["municipality_code"],
        municipality_name="",
        jma_city_code=row["jma_city_code"],
        jma_city_name="",
        jma_matome_code=row["jma_matome_code"],
        jma_first_code=row["jma_first_code"],
        jma_pref_code=row["jma_pref_code"],
        quake_area_code=row["quake_area_code"],
        tsunami_area_code=row["tsunami_area_code"],
    )


async def add_place(session: AsyncSession, geocoder: Geocoder, resident_id: int, body: PlaceIn, limit: int) -> int:
    # Serialize place writes per resident so the place limit holds under concurrent requests.
    await residents_repo.lock_resident(session, resident_id)
    if await repo.count_registered(session, resident_id) >= limit:
        raise LimitExceeded(f"a resident may register at most {limit} places", detail={"limit": limit})
    codes = geocoder.locate(body.lat, body.lon)
    return await repo.insert_place(session, resident_id, body.kind, body.label, body.lat, body.lon, codes)


async def patch_place(session: AsyncSession, geocoder: Geocoder, resident_id: int, place_id: int, body: PlacePatch) -> None:
    row = await repo.get_place(session, resident_id, place_id)
    if row is None:
        raise NotFound(f"place {place_id} not found")
    if (body.lat is None) != (body.lon is None):
        raise AppError("lat and lon go together", code="invalid_coordinates")
    lat = body.lat if body.lat is not None else row["lat"]
    lon = body.lon if body.lon is not None else row["lon"]
    codes = geocoder.locate(lat, lon)
    kind = body.kind or row["kind"]
    label = body.label if "label" in body.model_fields_set else row["label"]
    await repo.update_place(session, resident_id, place_id, kind, label, lat, lon, codes)


async def set_location(pool, geocoder: Geocoder | None, token_hash: bytes, body: LocationIn, retention: timedelta):
    codes = geocoder.locate(body.lat, body.lon) if geocoder is not None else None
    expires_at = datetime.now(UTC) + retention
    row = await repo.upsert_current_location(pool, token_hash, body.lat, body.lon, body.accuracy_m, codes, expires_at)
    return row, codes, expires_at
