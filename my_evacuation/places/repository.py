"""SQL for places. Current-location writes are one statement: authenticate + upsert."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from geo.areas.geocoder import AreaCodes
from server.db import raw_connection

CODE_COLUMNS = (
    "municipality_code",
    "jma_city_code",
    "jma_matome_code",
    "jma_first_code",
    "jma_pref_code",
    "quake_area_code",
    "tsunami_area_code",
)
_SELECT = (
    "SELECT id, kind, label, ST_Y(geom) AS lat, ST_X(geom) AS lon, accuracy_m, expires_at, "
    + ", ".join(CODE_COLUMNS)
    + " FROM places"
)


def code_params(codes: AreaCodes | None) -> dict:
    if codes is None:
        return {c: None for c in CODE_COLUMNS}
    return {c: getattr(codes, c) for c in CODE_COLUMNS}


async def count_registered(session: AsyncSession, resident_id: int) -> int:
    return (
        await session.execute(
            text("SELECT count(*) FROM places WHERE resident_id = :r AND kind <> 'current'"), {"r": resident_id}
        )
    ).scalar_one()


async def own_among(session: AsyncSession, resident_id: int, place_ids: Sequence[int]) -> set[int]:
    """Those of ``place_ids`` that are the resident's own places."""
    rows = await session.execute(
        text("SELECT id FROM places WHERE resident_id = :r AND id = ANY(:ids)"), {"r": resident_id, "ids": list(place_ids)}
    )
    return {r[0] for r in rows}


async def insert_place(session: AsyncSession, resident_id: int, kind: str, label, lat, lon, codes) -> int:
    cols = ", ".join(CODE_COLUMNS)
    vals = ", ".join(f":{c}" for c in CODE_COLUMNS)
    return (
        await session.execute(
            text(
                f"INSERT INTO places (resident_id, kind, label, geom, {cols}) "
                f"VALUES (:r, :kind, :label, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), {vals}) RETURNING id"
            ),
            {"r": resident_id, "kind": kind, "label": label, "lat": lat, "lon": lon, **code_params(codes)},
        )
    ).scalar_one()


async def update_place(session: AsyncSession, resident_id: int, place_id: int, kind, label, lat, lon, codes) -> bool:
    sets = ", ".join(f"{c} = :{c}" for c in CODE_COLUMNS)
    res = await session.execute(
        text(
            f"UPDATE places SET kind = :kind, label = :label, geom = ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), "
            f"{sets}, updated_at = now() WHERE id = :id AND resident_id = :r AND kind <> 'current'"
        ),
        {"id": place_id, "r": resident_id, "kind": kind, "label": label, "lat": lat, "lon": lon, **code_params(codes)},
    )
    return res.rowcount == 1


async def get_place(session: AsyncSession, resident_id: int, place_id: int):
    return (
        await session.execute(
            text(_SELECT + " WHERE id = :id AND resident_id = :r AND kind <> 'current'"), {"id": place_id, "r": resident_id}
        )
    ).mappings().first()


# What plans and guidance read of a place.
_PLAN_PLACE_COLUMNS = """
    id, resident_id, kind, label, ST_Y(geom) AS lat, ST_X(geom) AS lon, municipality_code,
    jma_city_code, quake_area_code, tsunami_area_code
"""


async def plan_place(session: AsyncSession, resident_id: int, place_id: int) -> dict | None:
    """One of the resident's registered places (not the current location), as plans read it."""
    row = (
        await session.execute(
            text(f"SELECT {_PLAN_PLACE_COLUMNS} FROM places WHERE id = :id AND resident_id = :r AND kind <> 'current'"),
            {"id": place_id, "r": resident_id},
        )
    ).first()
    return dict(row._mapping) if row else None


async def home_place(session: AsyncSession, resident_id: int) -> dict | None:
    """The resident's first home place, as plans read it."""
    row = (
        await session.execute(
            text(f"SELECT {_PLAN_PLACE_COLUMNS} FROM places WHERE resident_id = :r AND kind = 'home' ORDER BY id LIMIT 1"),
            {"r": resident_id},
        )
    ).first()
    return dict(row._mapping) if row else None


async def list_places(session: AsyncSession, resident_id: int):
    return (
        await session.execute(
            text(_SELECT + " WHERE resident_id = :r AND kind <> 'current' ORDER BY id"), {"r": resident_id}
        )
    ).mappings().all()


async def delete_place(session: AsyncSession, resident_id: int, place_id: int) -> bool:
    res = await session.execute(
        text("DELETE FROM places WHERE id = :id AND resident_id = :r AND kind <> 'current'"), {"id": place_id, "r": resident_id}
    )
    return res.rowcount == 1


_COLS = ", ".join(CODE_COLUMNS)
# asyncpg-native ($n) so the hot path skips the ORM layer; prepared once per connection.
UPSERT_CURRENT_SQL = f"""
    INSERT INTO places (resident_id, device_id, kind, geom, accuracy_m, expires_at, {_COLS})
    SELECT d.resident_id, d.id, 'current', ST_SetSRID(ST_MakePoint($3, $2), 4326), $4, $5,
           {", ".join(f"${i}" for i in range(6, 6 + len(CODE_COLUMNS)))}
    FROM device_tokens d WHERE d.token_hash = $1
    ON CONFLICT (device_id) WHERE kind = 'current' DO UPDATE SET
      geom = EXCLUDED.geom, accuracy_m = EXCLUDED.accuracy_m, expires_at = EXCLUDED.expires_at,
      updated_at = now(), {", ".join(f"{c} = EXCLUDED.{c}" for c in CODE_COLUMNS)}
    RETURNING id, resident_id
"""


async def upsert_current_location(
    pool, token_hash: bytes, lat: float, lon: float, accuracy_m, codes: AreaCodes | None, expires_at: datetime
):
    """Authenticate by token hash and upsert the device's current location in one round trip
    (a single statement is its own transaction). ``pool`` is the app's ephemeral asyncpg pool,
    whose sessions commit without waiting for the WAL flush: a current location is superseded
    within minutes, so losing the last milliseconds of updates in a database crash is harmless.

    Returns (place_id, resident_id), or None when the token is unknown.
    """
    p = code_params(codes)
    async with raw_connection(pool) as conn:
        return await conn.fetchrow(
            UPSERT_CURRENT_SQL, token_hash, lat, lon, accuracy_m, expires_at, *(p[c] for c in CODE_COLUMNS)
        )


async def get_current_location(session: AsyncSession, device_id: int):
    return (
        await session.execute(
            text(_SELECT + " WHERE device_id = :d AND kind = 'current' AND (expires_at IS NULL OR expires_at > now())"),
            {"d": device_id},
        )
    ).mappings().first()


async def delete_current_location(session: AsyncSession, device_id: int) -> None:
    await session.execute(text("DELETE FROM places WHERE device_id = :d AND kind = 'current'"), {"d": device_id})


async def purge_expired_locations(session: AsyncSession) -> int:
    res = await session.execute(text("DELETE FROM places WHERE kind = 'current' AND expires_at <= now()"))
    return res.rowcount


# The codes a place stores, from its JMA city area's ``attrs`` (what AreaCodes.of_city reads).
PLACE_CODE_ATTRS = {
    "municipality_code": "municipality_code",
    "jma_matome_code": "matome",
    "jma_first_code": "first",
    "jma_pref_code": "pref",
    "quake_area_code": "quake",
    "tsunami_area_code": "tsunami",
}
_REFRESH_CODES = text(
    "UPDATE places p SET "
    + ", ".join(f"{col} = a.{col}" for col in PLACE_CODE_ATTRS)
    + " FROM jsonb_to_recordset(CAST(:cities AS jsonb)) AS a(jma_city_code text, "
    + ", ".join(f"{col} text" for col in PLACE_CODE_ATTRS)
    + ") WHERE a.jma_city_code = p.jma_city_code AND ("
    + ", ".join(f"p.{col}" for col in PLACE_CODE_ATTRS)
    + ") IS DISTINCT FROM ("
    + ", ".join(f"a.{col}" for col in PLACE_CODE_ATTRS)
    + ")"
)


def refresh_codes_sync(conn: Connection, city_attrs: dict[str, dict]) -> int:
    """Re-derive every stored place's codes from its JMA city area's attrs (as loaded now);
    returns how many places changed. The polygons decide the city, and they are unchanged
    by a code fix; a change of polygons would need each point located again (not done here)."""
    cities = [
        {"jma_city_code": code, **{col: attrs.get(attr) for col, attr in PLACE_CODE_ATTRS.items()}}
        for code, attrs in city_attrs.items()
    ]
    return conn.execute(_REFRESH_CODES, {"cities": json.dumps(cities)}).rowcount


async def insert_seeded_place(
    session: AsyncSession, resident_id: int, device_id: int | None, kind: str, label: str | None,
    lat: float, lon: float, codes: dict, *, accuracy_m: float | None = None, expires_at: datetime | None = None,
) -> None:
    """A place with any device, accuracy and expiry (the demo and the simulator's residents);
    ``codes`` by column name, a missing one NULL."""
    cols = ", ".join(CODE_COLUMNS)
    vals = ", ".join(f":{c}" for c in CODE_COLUMNS)
    await session.execute(
        text(
            f"INSERT INTO places (resident_id, device_id, kind, label, geom, accuracy_m, expires_at, {cols}) "
            f"VALUES (:r, :d, :k, :label, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :acc, :exp, {vals})"
        ),
        {"r": resident_id, "d": device_id, "k": kind, "label": label, "lat": lat, "lon": lon, "acc": accuracy_m,
         "exp": expires_at, **{c: codes.get(c) for c in CODE_COLUMNS}},
    )


async def export_rows(session: AsyncSession, resident_id: int) -> list[dict]:
    """The resident's places (the current location too), for their export."""
    rows = await session.execute(
        text(
            """SELECT id, kind, label, ST_Y(geom) AS lat, ST_X(geom) AS lon, municipality_code,
                      created_at, updated_at, expires_at
               FROM places WHERE resident_id = :r ORDER BY id"""
        ),
        {"r": resident_id},
    )
    return [dict(r._mapping) for r in rows]


async def for_safety_checks(session: AsyncSession, resident_ids: list[int]) -> list[Any]:
    """The residents' registered places and unexpired current locations with their area codes."""
    return list((await session.execute(
        text(
            """SELECT id, resident_id, kind, quake_area_code, jma_city_code, tsunami_area_code, municipality_code,
                      jma_matome_code, jma_first_code, jma_pref_code FROM places
               WHERE resident_id = ANY(CAST(:ids AS bigint[])) AND (kind <> 'current' OR expires_at > now())"""
        ),
        {"ids": resident_ids},
    )).all())


_CITIES = text("SELECT id, jma_city_code FROM places WHERE id = ANY(:ids)")


async def city_codes(session: AsyncSession, place_ids: Sequence[int]) -> dict[int, str | None]:
    """place id -> its JMA city code (the fan-out's most-specific-area rule), one statement."""
    if not place_ids:
        return {}
    return {r.id: r.jma_city_code for r in (await session.execute(_CITIES, {"ids": list(set(place_ids))})).all()}


async def residents_near(
    session: AsyncSession, resident_ids: Sequence[int], points: Sequence[tuple[str, float, float]], radius_m: float
) -> list[Any]:
    """(resident_id, point id), once each, where one of these residents has a place or an
    unexpired current location within ``radius_m`` metres of the point ((id, lon, lat), SRID 4326)."""
    if not resident_ids or not points:
        return []
    rows = await session.execute(
        text(
            """SELECT DISTINCT pl.resident_id, s.id AS shelter_id
               FROM places pl
               JOIN unnest(CAST(:sids AS text[]), CAST(:lons AS float8[]), CAST(:lats AS float8[])) AS s(id, lon, lat)
                 ON ST_DWithin(pl.geom::geography, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326)::geography, :radius)
               WHERE pl.resident_id = ANY(CAST(:ids AS bigint[])) AND (pl.expires_at IS NULL OR pl.expires_at > now())"""
        ),
        {"ids": list(resident_ids), "sids": [p[0] for p in points], "lons": [p[1] for p in points],
         "lats": [p[2] for p in points], "radius": radius_m},
    )
    return list(rows.all())


async def home_municipality(session: AsyncSession, resident_id: int) -> str | None:
    """The municipality of the resident's first home place that has one."""
    return (await session.execute(text(
        "SELECT municipality_code FROM places WHERE resident_id = :r AND kind = 'home' AND municipality_code IS NOT NULL "
        "ORDER BY id LIMIT 1"), {"r": resident_id})).scalar_one_or_none()


async def residents_with_home(session: AsyncSession, municipality_code: str | None) -> list[int]:
    """The residents with a home place (in the municipality; None: anywhere)."""
    rows = await session.execute(text(
        "SELECT DISTINCT resident_id FROM places WHERE kind = 'home' AND (CAST(:m AS text) IS NULL OR municipality_code = :m)"),
        {"m": municipality_code})
    return list(rows.scalars())


async def residents_with_place_in(session: AsyncSession, municipality_code: str) -> list[int]:
    """The residents with a place (or a current location) in the municipality."""
    rows = await session.execute(
        text("SELECT DISTINCT resident_id FROM places WHERE municipality_code = :m"), {"m": municipality_code}
    )
    return list(rows.scalars())


# One area per resident: home first, then any registered place, then a current location.
_RESIDENT_AREA = """
    SELECT DISTINCT ON (pl.resident_id) pl.resident_id, pl.municipality_code,
           floor(ST_Y(pl.geom) / :cell) * :cell AS cell_lat, floor(ST_X(pl.geom) / :cell) * :cell AS cell_lon
    FROM places pl
    ORDER BY pl.resident_id, CASE pl.kind WHEN 'home' THEN 0 WHEN 'current' THEN 2 ELSE 1 END, pl.id
"""


async def tally_by_area(
    session: AsyncSession, resident_ids: list[int], labels: list[str], scope: str | None, cell_deg: float, mark: str
) -> tuple[list[dict], list[dict]]:
    """Labels (one per entry of ``resident_ids``, a resident may come more than once) counted by
    each resident's area: per (municipality, label), and the entries labelled ``mark`` per cell
    of ``cell_deg`` degrees, most first; ``scope`` keeps one municipality. Counts only."""
    params = {"ids": resident_ids, "labels": labels, "scope": scope, "cell": cell_deg, "mark": mark}
    tagged = "SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:labels AS text[])) AS t(resident_id, label)"
    where = "(CAST(:scope AS text) IS NULL OR ra.municipality_code = :scope)"
    by_muni = await session.execute(text(
        f"""WITH ra AS ({_RESIDENT_AREA}), t AS ({tagged})
            SELECT ra.municipality_code, t.label AS status, count(*) AS n
            FROM t JOIN ra ON ra.resident_id = t.resident_id
            WHERE {where}
            GROUP BY 1, 2 ORDER BY 1, 2"""), params)
    cells = await session.execute(text(
        f"""WITH ra AS ({_RESIDENT_AREA}), t AS ({tagged})
            SELECT ra.municipality_code, ra.cell_lat, ra.cell_lon, count(*) AS n
            FROM t JOIN ra ON ra.resident_id = t.resident_id
            WHERE {where} AND t.label = :mark
            GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1"""), params)
    return [dict(r._mapping) for r in by_muni], [dict(r._mapping) for r in cells]
