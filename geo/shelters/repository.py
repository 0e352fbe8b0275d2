"""Shelter SQL. No commits here: the request dependency or the job wrapper commits."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from geo.shelters.records import ShelterRecord
from server import readcache

# What the public shelter reads show (position, status, crowding) changes only through the
# writes below; each marks its session and the ``shelters`` generation is bumped after it
# commits (server.readcache; geo.shelters.service caches the nearest-shelter answers).
NAMESPACE = "shelters"

# Columns a registry import owns. Status (is_open, occupancy, opened_at) belongs to staff and
# is never touched by an import; fields the source leaves blank keep what the row has.
_UPSERT_VALUES = """
    INSERT INTO shelters (id, name, name_kana, address, municipality_code, geom, elevation_m,
                          is_emergency_site, is_evacuation_center, hazards, capacity, capacity_text,
                          phone, url, districts, notes, source, updated_at)
    VALUES (:id, :name, :name_kana, :address, :municipality_code,
            ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :elevation_m,
            COALESCE(CAST(:is_emergency_site AS boolean), false),
            COALESCE(CAST(:is_evacuation_center AS boolean), false),
            COALESCE(CAST(:hazards AS text[]), '{}'::text[]),
            :capacity, :capacity_text, :phone, :url, :districts, :notes, :source, now())
    ON CONFLICT (id) DO UPDATE SET
      name = EXCLUDED.name,
      name_kana = COALESCE(EXCLUDED.name_kana, shelters.name_kana),
      address = COALESCE(EXCLUDED.address, shelters.address),
      municipality_code = EXCLUDED.municipality_code,
      geom = EXCLUDED.geom,
      elevation_m = COALESCE(EXCLUDED.elevation_m, shelters.elevation_m),
      is_emergency_site = COALESCE(CAST(:is_emergency_site AS boolean), shelters.is_emergency_site),
      is_evacuation_center = COALESCE(CAST(:is_evacuation_center AS boolean), shelters.is_evacuation_center),
      hazards = COALESCE(CAST(:hazards AS text[]), shelters.hazards),
      capacity = CASE WHEN EXCLUDED.capacity_text IS NOT NULL OR EXCLUDED.capacity IS NOT NULL
                      THEN EXCLUDED.capacity ELSE shelters.capacity END,
      capacity_text = COALESCE(EXCLUDED.capacity_text, shelters.capacity_text),
      phone = COALESCE(EXCLUDED.phone, shelters.phone),
      url = COALESCE(EXCLUDED.url, shelters.url),
      districts = COALESCE(EXCLUDED.districts, shelters.districts),
      notes = COALESCE(EXCLUDED.notes, shelters.notes),
      source = EXCLUDED.source,
      updated_at = now()
"""
UPSERT_SQL = text(_UPSERT_VALUES)
UPSERT_RETURNING_SQL = text(_UPSERT_VALUES + " RETURNING (xmax = 0) AS inserted")

_COLUMNS = """
    id, name, name_kana, address, municipality_code, ST_Y(geom) AS lat, ST_X(geom) AS lon, elevation_m,
    is_emergency_site, is_evacuation_center, hazards, capacity, capacity_text, occupancy, checked_in, is_open,
    opened_at, pets_allowed, accessible, phone, url, districts, notes, source, updated_at
"""

# Full shelters: occupancy at or above 80 % of capacity (VACAN's "full"); unknown stays in.
_NOT_FULL = "NOT (capacity > 0 AND occupancy IS NOT NULL AND occupancy * 10 >= capacity * 8)"


def record_params(r: ShelterRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "name_kana": r.name_kana,
        "address": r.address,
        "municipality_code": r.municipality_code,
        "lat": r.lat,
        "lon": r.lon,
        "elevation_m": r.elevation_m,
        "is_emergency_site": r.is_emergency_site,
        "is_evacuation_center": r.is_evacuation_center,
        "hazards": r.hazards,
        "capacity": r.capacity,
        "capacity_text": r.capacity_text,
        "phone": r.phone,
        "url": r.url,
        "districts": r.districts,
        "notes": r.notes,
        "source": r.source,
    }


async def upsert_many(session: AsyncSession, records: Sequence[ShelterRecord]) -> None:
    readcache.touch(session, NAMESPACE)
    if records:
        await session.execute(UPSERT_SQL, [record_params(r) for r in records])


async def upsert_one(session: AsyncSession, record: ShelterRecord) -> bool:
    """Returns True when the row was inserted, False when an existing row was updated."""
    readcache.touch(session, NAMESPACE)
    return bool((await session.execute(UPSERT_RETURNING_SQL, record_params(record))).scalar_one())


async def existing_ids(session: AsyncSession, ids: Iterable[str]) -> set[str]:
    ids = list(ids)
    if not ids:
        return set()
    rows = await session.execute(text("SELECT id FROM shelters WHERE id = ANY(CAST(:ids AS text[]))"), {"ids": ids})
    return {r[0] for r in rows}


async def candidates_near(session: AsyncSession, municipality_code: str, lat: float, lon: float, radius_m: float) -> list[dict]:
    """Shelters of one municipality within ``radius_m`` (for matching an import to an existing row)."""
    rows = await session.execute(
        text(
            """
            SELECT id, name, ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) AS d
            FROM shelters
            WHERE municipality_code = :m
              AND ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :r)
            ORDER BY d
            """
        ),
        {"m": municipality_code, "lat": lat, "lon": lon, "r": radius_m},
    )
    return [dict(r._mapping) for r in rows]


async def get(session: AsyncSession, shelter_id: str) -> dict | None:
    row = (await session.execute(text(f"SELECT {_COLUMNS} FROM shelters WHERE id = :id"), {"id": shelter_id})).first()
    return dict(row._mapping) if row else None


# Lower bound of metres per planar degree is min(one degree of latitude, one of longitude at the
# farthest latitude reached); the 0.5 % margin covers the sphere-vs-spheroid difference.
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON_EQ = 111_320.0
_BOUND_MARGIN = 0.995


def _metres_per_degree_lower_bound(lat: float, reach_deg: float) -> float:
    far = min(abs(lat) + reach_deg, 89.9)
    return _BOUND_MARGIN * min(_M_PER_DEG_LAT, _M_PER_DEG_LON_EQ * math.cos(math.radians(far)))


def filters(*, hazard: str | None, is_open: bool | None, available: bool) -> tuple[str, dict[str, Any]]:
    """The WHERE condition (and its parameters) of a nearest-shelter search's filters."""
    where = ["TRUE"]
    params: dict[str, Any] = {}
    if hazard is not None:
        where.append(":hazard = ANY(hazards)")
        params["hazard"] = hazard
    if is_open is not None:
        where.append("is_open = :is_open")
        params["is_open"] = is_open
    if available:
        where.append(_NOT_FULL)
    return " AND ".join(where), params


COLUMNS = _COLUMNS


async def nearest(
    session: AsyncSession,
    *,
    lat: float,
    lon: float,
    limit: int,
    pool: int,
    hazard: str | None = None,
    is_open: bool | None = None,
    available: bool = False,
) -> list[dict]:
    """Nearest shelters by true (geodesic) distance, found through the GiST index.

    KNN (``geom <-> point``) orders by planar degrees, and a degree of longitude is shorter
    than one of latitude (0.8 at 37°N), so the planar order can differ from the true one.
    We take ``pool`` KNN candidates and re-rank them by ``ST_Distance(geography)``; the
    answer is provably exact when the last kept distance is within what the pool's planar
    radius guarantees. When it is not (sparse areas, long distances) a second, still
    index-assisted query takes every shelter inside the planar radius that can hold a
    nearer one.
    """
    cond, params = filters(hazard=hazard, is_open=is_open, available=available)
    params.update(lat=lat, lon=lon, limit=limit, pool=pool)
    # The point is written out (no CTE): the planner uses the GiST index only for
    # ``geom <-> <constant>``; a CTE column is not one (seq scan + sort, measured).
    point = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"
    sql = text(
        f"""
        SELECT {_COLUMNS}, ST_Distance(c.geom::geography, {point}::geography) AS distance_m,
               count(*) OVER () AS pool_count, max(c.planar) OVER () AS pool_reach
        FROM (
            SELECT *, geom <-> {point} AS planar FROM shelters
            WHERE {cond}
            ORDER BY geom <-> {point}
            LIMIT :pool
        ) c
        ORDER BY distance_m, id
        LIMIT :limit
        """
    )
    rows = [dict(r._mapping) for r in await session.execute(sql, params)]
    if not rows:
        return rows
    pool_count, reach = rows[0]["pool_count"], rows[0]["pool_reach"]
    worst = rows[-1]["distance_m"]
    exact = pool_count < pool or (
        len(rows) == limit and worst <= reach * _metres_per_degree_lower_bound(lat, reach)
    )
    if not exact:
        radius_deg = worst / _metres_per_degree_lower_bound(lat, worst / _M_PER_DEG_LAT * 2)
        params["radius_deg"] = radius_deg
        sql = text(
            f"""
            SELECT {_COLUMNS}, ST_Distance(geom::geography, {point}::geography) AS distance_m
            FROM shelters
            WHERE {cond} AND ST_DWithin(geom, {point}, :radius_deg)
            ORDER BY distance_m, id
            LIMIT :limit
            """
        )
        rows = [dict(r._mapping) for r in await session.execute(sql, params)]
    for r in rows:
        r.pop("pool_count", None)
        r.pop("pool_reach", None)
    return rows


async def stream_for_export(session: AsyncSession, municipality_code: str | None = None, chunk: int = 500):
    """Rows in (municipality, id) order, streamed in chunks (never all at once)."""
    sql = f"SELECT {_COLUMNS} FROM shelters"
    params: dict[str, Any] = {}
    if municipality_code:
        sql += " WHERE municipality_code = :m"
        params["m"] = municipality_code
    sql += " ORDER BY municipality_code, id"
    result = await session.stream(text(sql), params)
    async for part in result.mappings().partitions(chunk):
        for row in part:
            yield dict(row)


async def set_status(
    session: AsyncSession,
    shelter_id: str,
    *,
    is_open: bool | None = None,
    occupancy: int | None = None,
    capacity: int | None = None,
    pets_allowed: bool | None = None,
    accessible: bool | None = None,
) -> dict | None:
    """Staff status update; only the given fields change. Opening stamps opened_at, closing clears it."""
    readcache.touch(session, NAMESPACE)
    sets = ["updated_at = now()"]
    params: dict[str, Any] = {"id": shelter_id}
    if is_open is not None:
        sets.append("opened_at = CASE WHEN :is_open THEN COALESCE(CASE WHEN is_open THEN opened_at END, now()) END")
        sets.append("is_open = :is_open")
        params["is_open"] = is_open
    for name, value in (("occupancy", occupancy), ("capacity", capacity), ("pets_allowed", pets_allowed), ("accessible", accessible)):
        if value is not None:
            sets.append(f"{name} = :{name}")
            params[name] = value
    row = (
        await session.execute(text(f"UPDATE shelters SET {', '.join(sets)} WHERE id = :id RETURNING id"), params)
    ).first()
    if row is None:
        return None
    return await get(session, shelter_id)


async def aliases_of(session: AsyncSession, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(municipality code, the municipality's own number) → registry id, for the pairs known."""
    if not pairs:
        return {}
    rows = await session.execute(
        text(
            "SELECT a.municipality_code, a.local_id, a.shelter_id FROM shelter_aliases a "
            "JOIN unnest(CAST(:m AS text[]), CAST(:l AS text[])) AS q(m, l) ON a.municipality_code = q.m AND a.local_id = q.l"
        ),
        {"m": [p[0] for p in pairs], "l": [p[1] for p in pairs]},
    )
    return {(r[0], r[1]): r[2] for r in rows}


async def add_aliases(session: AsyncSession, rows: Sequence[tuple[str, str, str]]) -> None:
    """(municipality code, local id, registry id); a number re-mapped by a newer import moves."""
    if rows:
        await session.execute(
            text(
                "INSERT INTO shelter_aliases (municipality_code, local_id, shelter_id) VALUES (:m, :l, :s) "
                "ON CONFLICT (municipality_code, local_id) DO UPDATE SET shelter_id = EXCLUDED.shelter_id"
            ),
            [{"m": m, "l": loc, "s": s} for m, loc, s in rows],
        )


async def adjust_checked_in(session: AsyncSession, shelter_id: str, delta: int) -> dict | None:
    """Move the exact check-in count and occupancy together by ``delta`` people, in one
    statement (the row lock serialises concurrent check-ins; nothing is read then written).
    Occupancy never goes below zero: a staff head count may have reset it meanwhile."""
    readcache.touch(session, NAMESPACE)
    row = (
        await session.execute(
            text(
                """UPDATE shelters SET checked_in = GREATEST(checked_in + :d, 0),
                                      occupancy = GREATEST(COALESCE(occupancy, 0) + :d, 0)
                   WHERE id = :id RETURNING id, name, municipality_code, checked_in, occupancy, capacity, is_open"""
            ),
            {"id": shelter_id, "d": delta},
        )
    ).first()
    return dict(row._mapping) if row else None


async def code_version(session: AsyncSession, shelter_id: str) -> tuple[str, str, int] | None:
    """(id, municipality code, current check-in code version)."""
    row = (
        await session.execute(
            text("SELECT id, municipality_code, checkin_code_version FROM shelters WHERE id = :id"), {"id": shelter_id}
        )
    ).first()
    return (row[0], row[1], row[2]) if row else None


async def bump_code_version(session: AsyncSession, shelter_id: str) -> int | None:
    readcache.touch(session, NAMESPACE)
    return (
        await session.execute(
            text("UPDATE shelters SET checkin_code_version = checkin_code_version + 1 WHERE id = :id "
                 "RETURNING checkin_code_version"),
            {"id": shelter_id},
        )
    ).scalar_one_or_none()


async def for_codes(session: AsyncSession, municipality_code: str | None, shelter_ids: Sequence[str] | None = None) -> list[dict]:
    """Shelters whose check-in codes are printed: id, names, version, position, in id order."""
    rows = await session.execute(
        text(
            """SELECT id, name, address, municipality_code, checkin_code_version, is_evacuation_center
               FROM shelters
               WHERE (CAST(:m AS text) IS NULL OR municipality_code = :m)
                 AND (CAST(:ids AS text[]) IS NULL OR id = ANY(CAST(:ids AS text[])))
               ORDER BY municipality_code, id"""
        ),
        {"m": municipality_code, "ids": list(shelter_ids) if shelter_ids is not None else None},
    )
    return [dict(r._mapping) for r in rows]


async def pack_rows(session: AsyncSession, municipality_code: str | None) -> list[tuple]:
    """What the offline pack carries, in a stable order (the ETag is a hash of it)."""
    rows = await session.execute(
        text(
            """SELECT id, name, municipality_code, round(ST_Y(geom)::numeric, 6)::float8, round(ST_X(geom)::numeric, 6)::float8,
                      hazards, is_emergency_site, is_evacuation_center, capacity, pets_allowed, accessible, address
               FROM shelters WHERE (CAST(:m AS text) IS NULL OR municipality_code = :m)
               ORDER BY id"""
        ),
        {"m": municipality_code},
    )
    return [tuple(r) for r in rows]


# Degrees around a point that surely contain ``radius`` metres at Fukushima's latitudes (a
# degree of longitude is ≥ 80 km there): a box the GiST index answers before the exact test.
_DEG_PER_M = 1 / 80_000


async def candidates_near_many(session: AsyncSession, points: Sequence[tuple[str, float, float]],
                               radius_m: float) -> dict[int, list[dict]]:
    """For each (municipality code, lat, lon), by its index in ``points``: shelters of that
    municipality within ``radius_m``, nearest first. One statement for a whole import batch."""
    if not points:
        return {}
    rows = await session.execute(
        text(
            """
            SELECT q.i, s.id, s.name,
                   ST_Distance(s.geom::geography, ST_SetSRID(ST_MakePoint(q.lon, q.lat), 4326)::geography) AS d
            FROM unnest(CAST(:m AS text[]), CAST(:lat AS float8[]), CAST(:lon AS float8[]))
                 WITH ORDINALITY AS q(m, lat, lon, i)
            JOIN shelters s ON s.municipality_code = q.m
             AND s.geom && ST_Expand(ST_SetSRID(ST_MakePoint(q.lon, q.lat), 4326), :deg)
             AND ST_DWithin(s.geom::geography, ST_SetSRID(ST_MakePoint(q.lon, q.lat), 4326)::geography, :r)
            ORDER BY q.i, d
            """
        ),
        {"m": [p[0] for p in points], "lat": [p[1] for p in points], "lon": [p[2] for p in points],
         "r": radius_m, "deg": radius_m * _DEG_PER_M},
    )
    out: dict[int, list[dict]] = {}
    for r in rows:
        out.setdefault(int(r.i) - 1, []).append({"id": r.id, "name": r.name, "d": r.d})
    return out


async def names_of(session: AsyncSession, ids: Sequence[str]) -> list[Any]:
    """(id, name, municipality_code) of the shelters among ``ids``."""
    return list(
        (await session.execute(
            text("SELECT id, name, municipality_code FROM shelters WHERE id = ANY(:ids)"), {"ids": list(ids)}
        )).all()
    )


_NEAREST_FOR_HAZARD = text(
    """
    SELECT id, name FROM shelters
    WHERE :hazard = ANY(hazards)
    ORDER BY geom <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) LIMIT 1
    """
)


async def nearest_for_hazard(session: AsyncSession, hazard: str, lat: float, lon: float) -> Any:
    """(id, name) of the registry shelter nearest the point suited to ``hazard``, or None."""
    return (await session.execute(_NEAREST_FOR_HAZARD, {"hazard": hazard, "lat": lat, "lon": lon})).first()


# --- reads for other packages (my_evacuation's plans, guidance and plan reminders) ---


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


async def snapshot_rows(session: AsyncSession, columns: str) -> list[dict]:
    """Every shelter's ``columns`` (a fixed SELECT list of the nearest-shelter cache), by id."""
    return [dict(r._mapping) for r in await session.execute(text(f"SELECT {columns} FROM shelters ORDER BY id"))]


# ---------------------------------------------------------------------------------------
# Staff operations on shelters (alerts.shelters_live)
# ---------------------------------------------------------------------------------------

_SEARCH_WHERE = """(CAST(:m AS text) IS NULL OR municipality_code = :m)
               AND (CAST(:o AS boolean) IS NULL OR is_open = :o)
               AND (CAST(:p AS text) IS NULL OR lower(normalize(name, NFKC)) LIKE :p
                    OR lower(normalize(COALESCE(name_kana, ''), NFKC)) LIKE :p
                    OR lower(normalize(COALESCE(address, ''), NFKC)) LIKE :p OR lower(id) LIKE :p)"""


async def search_ids(
    session: AsyncSession, *, municipality_code: str | None, is_open: bool | None, pattern: str | None, limit: int, offset: int
) -> tuple[list[str], int]:
    """A page of shelter ids (open first, then by municipality, name and id) and how many match
    in all: in the municipality (None: any), open or not (None: either), and whose NFKC-lowered
    name, kana, address or id is LIKE ``pattern`` (None: any; the caller escapes it)."""
    params = {"m": municipality_code, "o": is_open, "p": pattern, "lim": limit, "off": offset}
    total = (await session.execute(text(f"SELECT count(*) FROM shelters WHERE {_SEARCH_WHERE}"), params)).scalar_one()
    rows = await session.execute(
        text(f"SELECT id FROM shelters WHERE {_SEARCH_WHERE} ORDER BY is_open DESC, municipality_code, name, id "
             "LIMIT :lim OFFSET :off"),
        params,
    )
    return [r[0] for r in rows], total


async def set_hazards(session: AsyncSession, shelter_id: str, hazards: list[str]) -> None:
    """Replace the shelter's hazards (in the order the caller gives)."""
    await session.execute(text("UPDATE shelters SET hazards = :h, updated_at = now() WHERE id = :id"),
                          {"h": hazards, "id": shelter_id})


async def ids_in_municipality(session: AsyncSession, municipality_code: str, shelter_ids: Sequence[str] | None) -> list[str]:
    """The ids of the municipality's shelters (of ``shelter_ids`` only, unless None), in id order."""
    rows = await session.execute(
        text("SELECT id FROM shelters WHERE municipality_code = :m AND (CAST(:ids AS text[]) IS NULL OR id = ANY(:ids)) "
             "ORDER BY id"),
        {"m": municipality_code, "ids": None if shelter_ids is None else list(shelter_ids)},
    )
    return [r[0] for r in rows]


async def open_ids(session: AsyncSession) -> list[str]:
    """Every open shelter's id."""
    return [r[0] for r in await session.execute(text("SELECT id FROM shelters WHERE is_open"))]


async def locations(session: AsyncSession, shelter_ids: Sequence[str]) -> list[tuple[str, float, float]]:
    """(id, lon, lat) of these shelters (the point exactly as stored, SRID 4326)."""
    rows = await session.execute(
        text("SELECT id, ST_X(geom), ST_Y(geom) FROM shelters WHERE id = ANY(CAST(:ids AS text[]))"),
        {"ids": list(shelter_ids)},
    )
    return [(r[0], r[1], r[2]) for r in rows]
