"""A resident's own data as JSON (GET /v1/me/export): plans with every version, places,
safety statuses and their history, groups, safety checks, knowledge preferences."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def _rows(session: AsyncSession, sql: str, **params) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in await session.execute(text(sql), params)]


async def resident_export(session: AsyncSession, resident_id: int) -> dict[str, Any]:
    r = resident_id
    resident = (await _rows(session, "SELECT id, language, preferences, created_at FROM residents WHERE id = :r", r=r))[0]
    places = await _rows(session, """SELECT id, kind, label, ST_Y(geom) AS lat, ST_X(geom) AS lon, municipality_code,
                                            created_at, updated_at, expires_at
                                     FROM places WHERE resident_id = :r ORDER BY id""", r=r)
    plans = await _rows(session, "SELECT id, place_id, current_version, created_at FROM evacuation_plans WHERE resident_id = :r ORDER BY id", r=r)
    for p in plans:
        p["versions"] = await _rows(session, """SELECT version, body, completeness, created_at FROM evacuation_plan_versions
                                                WHERE plan_id = :p ORDER BY version""", p=p["id"])
    status = await _rows(session, "SELECT * FROM safety_statuses WHERE resident_id = :r", r=r)
    history = await _rows(session, "SELECT * FROM safety_status_history WHERE resident_id = :r ORDER BY version", r=r)
    groups = await _rows(session, """SELECT g.id, g.name, m.display_name, m.role, m.joined_at
                                     FROM family_members m JOIN family_groups g ON g.id = m.group_id
                                     WHERE m.resident_id = :r ORDER BY g.id""", r=r)
    checks = await _rows(session, """SELECT id, event_key, category, reason, created_at, answered_at, answer_status,
                                            reminders_sent FROM safety_checks WHERE resident_id = :r ORDER BY id""", r=r)
    knowledge = await _rows(session, "SELECT * FROM knowledge_subscriptions WHERE resident_id = :r", r=r)
    return {
        "exported_at": datetime.now(UTC),
        "resident": resident,
        "places": places,
        "plans": plans,
        "safety_status": status[0] if status else None,
        "safety_status_history": history,
        "groups": groups,
        "safety_checks": checks,
        "knowledge": knowledge[0] if knowledge else None,
    }
