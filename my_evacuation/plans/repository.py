"""Plan SQL. No commits here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_PLACE_COLUMNS = """
    id, resident_id, kind, label, ST_Y(geom) AS lat, ST_X(geom) AS lon, municipality_code,
    jma_city_code, quake_area_code, tsunami_area_code
"""


async def get_head(session: AsyncSession, resident_id: int, place_id: int | None, *, for_update: bool = False) -> dict | None:
    sql = """SELECT id, resident_id, place_id, current_version, created_at, updated_at FROM evacuation_plans
             WHERE resident_id = :r AND COALESCE(place_id, 0) = COALESCE(CAST(:p AS bigint), 0)"""
    if for_update:
        sql += " FOR UPDATE"
    row = (await session.execute(text(sql), {"r": resident_id, "p": place_id})).first()
    return dict(row._mapping) if row else None


async def create_head(session: AsyncSession, resident_id: int, place_id: int | None) -> dict:
    """Insert the head row (version 0) or lock the existing one; concurrent first saves meet here."""
    await session.execute(
        text(
            """INSERT INTO evacuation_plans (resident_id, place_id, current_version)
               VALUES (:r, :p, 0) ON CONFLICT DO NOTHING"""
        ),
        {"r": resident_id, "p": place_id},
    )
    head = await get_head(session, resident_id, place_id, for_update=True)
    assert head is not None
    return head


async def insert_version(session: AsyncSession, plan_id: int, version: int, body: dict, completeness: int) -> dict:
    row = (
        await session.execute(
            text(
                """INSERT INTO evacuation_plan_versions (plan_id, version, body, completeness)
                   VALUES (:plan, :v, CAST(:body AS jsonb), :c) RETURNING version, created_at"""
            ),
            {"plan": plan_id, "v": version, "body": _json(body), "c": completeness},
        )
    ).one()
    await session.execute(
        text("UPDATE evacuation_plans SET current_version = :v, updated_at = now() WHERE id = :plan"),
        {"plan": plan_id, "v": version},
    )
    return dict(row._mapping)


def _json(body: Any) -> str:
    import orjson

    return orjson.dumps(body).decode()


async def get_version(session: AsyncSession, plan_id: int, version: int) -> dict | None:
    row = (
        await session.execute(
            text(
                "SELECT version, body, completeness, created_at FROM evacuation_plan_versions WHERE plan_id = :p AND version = :v"
            ),
            {"p": plan_id, "v": version},
        )
    ).first()
    return dict(row._mapping) if row else None


async def list_versions(session: AsyncSession, plan_id: int) -> list[dict]:
    rows = await session.execute(
        text(
            "SELECT version, completeness, created_at FROM evacuation_plan_versions WHERE plan_id = :p ORDER BY version DESC"
        ),
        {"p": plan_id},
    )
    return [dict(r._mapping) for r in rows]


async def list_heads(session: AsyncSession, resident_id: int) -> list[dict]:
    rows = await session.execute(
        text("SELECT id, place_id, current_version FROM evacuation_plans WHERE resident_id = :r ORDER BY id"),
        {"r": resident_id},
    )
    return [dict(r._mapping) for r in rows]


async def get_place(session: AsyncSession, resident_id: int, place_id: int) -> dict | None:
    row = (
        await session.execute(
            text(f"SELECT {_PLACE_COLUMNS} FROM places WHERE id = :id AND resident_id = :r AND kind <> 'current'"),
            {"id": place_id, "r": resident_id},
        )
    ).first()
    return dict(row._mapping) if row else None


async def get_home(session: AsyncSession, resident_id: int) -> dict | None:
    row = (
        await session.execute(
            text(f"SELECT {_PLACE_COLUMNS} FROM places WHERE resident_id = :r AND kind = 'home' ORDER BY id LIMIT 1"),
            {"r": resident_id},
        )
    ).first()
    return dict(row._mapping) if row else None


async def shelters_by_id(session: AsyncSession, ids: list[str]) -> dict[str, dict]:
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


async def hazards_of_shelters_near(session: AsyncSession, lat: float, lon: float, radius_m: float) -> list[dict]:
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
