"""Plan SQL. No commits here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

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


# ---------------------------------------------------------------------------------------
# Plan-review reminders (my_evacuation.knowledge.service)
# ---------------------------------------------------------------------------------------


async def residents_with_plans(session: AsyncSession, after: int, batch: int) -> list[int]:
    """The next ``batch`` residents with a plan, by id, after ``after``."""
    rows = await session.execute(
        text("SELECT DISTINCT resident_id FROM evacuation_plans WHERE resident_id > :after ORDER BY resident_id LIMIT :batch"),
        {"after": after, "batch": batch},
    )
    return [r[0] for r in rows]


_HAS_PLANS = text("SELECT to_regclass('public.evacuation_plans') IS NOT NULL")
_PLANNERS = text("SELECT DISTINCT resident_id FROM evacuation_plans WHERE resident_id = ANY(:ids)")


async def with_plans_among(session: AsyncSession, resident_ids: Sequence[int]) -> set[int]:
    """Those of ``resident_ids`` with a plan (the fan-out's guidance): one statement per chunk,
    after one checking the plans table exists (an empty set when it does not)."""
    if not (await session.execute(_HAS_PLANS)).scalar():
        return set()
    return {r[0] for r in (await session.execute(_PLANNERS, {"ids": list(resident_ids)})).all()}


async def residents_planning(session: AsyncSession, shelter_ids: Sequence[str], resident_id: int | None = None) -> list[Any]:
    """(resident_id, shelter_id), once each, of every current plan naming one of these shelters
    among its destinations (only the resident's, unless ``resident_id`` is None)."""
    rows = await session.execute(
        text(
            """SELECT DISTINCT p.resident_id, s.id AS shelter_id
               FROM unnest(CAST(:sids AS text[])) AS s(id)
               JOIN evacuation_plan_versions v
                 ON v.body -> 'destinations' @> jsonb_build_array(jsonb_build_object('shelter_id', s.id))
               JOIN evacuation_plans p ON p.id = v.plan_id AND v.version = p.current_version
               WHERE (CAST(:resident AS bigint) IS NULL OR p.resident_id = :resident)"""
        ),
        {"sids": list(shelter_ids), "resident": resident_id},
    )
    return list(rows.all())


async def current_plan_shelters(session: AsyncSession) -> list[Any]:
    """Each shelter a current plan names: plan_id, resident_id, shelter_id, and the fingerprint
    seen last time (``plan_shelter_watch``; None when never seen)."""
    rows = await session.execute(
        text(
            """SELECT p.id AS plan_id, p.resident_id, d->>'shelter_id' AS shelter_id, w.fingerprint
               FROM evacuation_plans p
               JOIN evacuation_plan_versions v ON v.plan_id = p.id AND v.version = p.current_version
               CROSS JOIN LATERAL jsonb_array_elements(v.body->'destinations') d
               LEFT JOIN plan_shelter_watch w ON w.plan_id = p.id AND w.shelter_id = d->>'shelter_id'
               WHERE d->>'shelter_id' IS NOT NULL"""
        )
    )
    return list(rows.all())


async def record_shelter_seen(session: AsyncSession, plan_id: int, shelter_id: str, fingerprint: str, now) -> None:
    await session.execute(
        text(
            """INSERT INTO plan_shelter_watch (plan_id, shelter_id, fingerprint, checked_at) VALUES (:p, :s, :f, :now)
               ON CONFLICT (plan_id, shelter_id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, checked_at = :now"""
        ),
        {"p": plan_id, "s": shelter_id, "f": fingerprint, "now": now},
    )


# ---------------------------------------------------------------------------------------
# A resident's own data (my_evacuation.export)
# ---------------------------------------------------------------------------------------


async def export_rows(session: AsyncSession, resident_id: int) -> list[dict]:
    """The resident's plans, each with every version (``versions``)."""
    plans = [
        dict(r._mapping)
        for r in await session.execute(
            text("SELECT id, place_id, current_version, created_at FROM evacuation_plans WHERE resident_id = :r ORDER BY id"),
            {"r": resident_id},
        )
    ]
    for p in plans:
        p["versions"] = [
            dict(r._mapping)
            for r in await session.execute(
                text(
                    """SELECT version, body, completeness, created_at FROM evacuation_plan_versions
                       WHERE plan_id = :p ORDER BY version"""
                ),
                {"p": p["id"]},
            )
        ]
    return plans


async def current_plan_members(session: AsyncSession, resident_id: int) -> list[Any]:
    """The members (JSON objects, as written) of each current plan of the resident, plan by plan."""
    rows = await session.execute(text(
        """SELECT m FROM evacuation_plans p
           JOIN evacuation_plan_versions v ON v.plan_id = p.id AND v.version = p.current_version
           CROSS JOIN LATERAL jsonb_array_elements(COALESCE(v.body -> 'members', '[]'::jsonb)) m
           WHERE p.resident_id = :r ORDER BY p.id"""), {"r": resident_id})
    return [m for (m,) in rows]
