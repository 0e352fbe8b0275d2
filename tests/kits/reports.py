"""Residents with safety answers, for the report tests."""

from __future__ import annotations

from sqlalchemy import text


async def add_answers(engine, event_key: str, rows: list[tuple[str, tuple[float, float], str | None]]) -> list[int]:
    """One resident per row: (municipality, home point, answer or None = unanswered)."""
    ids = []
    async with engine.begin() as conn:
        for muni, (lat, lon), answer in rows:
            rid = (await conn.execute(text("INSERT INTO residents DEFAULT VALUES RETURNING id"))).scalar_one()
            await conn.execute(text(
                "INSERT INTO places (resident_id, kind, geom, municipality_code) "
                "VALUES (:r, 'home', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :m)"),
                {"r": rid, "lat": lat, "lon": lon, "m": muni})
            await conn.execute(text(
                "INSERT INTO safety_checks (resident_id, event_key, category, reason, answered_at, answer_status) "
                "VALUES (:r, :e, 'evacuation', 'evacuation:4', CASE WHEN CAST(:a AS text) IS NULL THEN NULL ELSE now() END, :a)"),
                {"r": rid, "e": event_key, "a": answer})
            ids.append(rid)
    return ids
