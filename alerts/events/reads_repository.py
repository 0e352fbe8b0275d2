"""Reads of alert events for other alerts packages (evacuees). Never commits.

Kept apart from ``repository.py`` only while that file is being reworked; they belong together."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# An event in force, read as the pull and shelter notices read it (state and in_force_until).
_IN_FORCE = "e.state IN ('active', 'updated') AND e.in_force_until > now()"


async def in_force_event_ids(session: AsyncSession) -> list[int]:
    """Every event in force now."""
    return list((await session.execute(text(f"SELECT e.id FROM alert_events e WHERE {_IN_FORCE} ORDER BY 1"))).scalars())


async def in_force_real_among(session: AsyncSession, event_ids: Sequence[int]) -> list[int]:
    """Those of ``event_ids`` in force now and not a drill (by their latest alert), ascending."""
    if not event_ids:
        return []
    rows = await session.execute(
        text(
            f"""SELECT e.id FROM alert_events e
                WHERE e.id = ANY(CAST(:ids AS bigint[])) AND {_IN_FORCE}
                  AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.id = e.latest_alert_id AND a.is_drill)
                ORDER BY 1"""
        ),
        {"ids": list(event_ids)},
    )
    return list(rows.scalars())


async def alert_row(session: AsyncSession, alert_id: int) -> dict | None:
    """What a report says of an alert: id, source, source_id, msg_type, category, headline,
    issued_at, is_drill, event_id."""
    row = (await session.execute(text(
        """SELECT a.id, a.source, a.source_id, a.msg_type, a.category, a.headline, a.issued_at, a.is_drill, a.event_id
           FROM alerts a WHERE a.id = :id"""), {"id": alert_id})).first()
    return dict(row._mapping) if row else None


async def recent_alert_ids(session: AsyncSession, scope: str | None, event_ids: Sequence[int], limit: int) -> list[int]:
    """Newest first: every alert (``scope`` None), else those naming the municipality among
    their areas or of one of ``event_ids``."""
    rows = await session.execute(
        text(
            """SELECT id FROM alerts
               WHERE CAST(:scope AS text) IS NULL OR :scope = ANY(area_codes) OR event_id = ANY(CAST(:events AS bigint[]))
               ORDER BY issued_at DESC, id DESC LIMIT :lim"""
        ),
        {"scope": scope, "events": list(event_ids), "lim": limit},
    )
    return [r[0] for r in rows]


async def active_alert_rows(session: AsyncSession, limit: int) -> list[dict]:
    """The latest alert of each event still in force (not cancelled / cleared, ``in_force_until``
    ahead), newest first, with the event's facts and a simplified geometry for the console map."""
    rows = await session.execute(
        text(
            """SELECT a.id AS alert_id, a.source, e.category, a.headline, a.severity, a.is_drill, a.issued_at,
                      a.area_codes, e.facts, ST_AsGeoJSON(ST_SimplifyPreserveTopology(a.geom, 0.0005), 5)::json AS geometry
               FROM alert_events e JOIN alerts a ON a.id = e.latest_alert_id
               WHERE e.state IN ('active', 'updated') AND e.in_force_until > now()
                 AND a.msg_type <> 'cancel'
               ORDER BY a.issued_at DESC LIMIT :lim"""
        ),
        {"lim": limit},
    )
    return [dict(r._mapping) for r in rows]
