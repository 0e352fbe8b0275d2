"""SQL for what happened: delivery figures per alert, safety answers per area. Aggregates only."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.facts import GroupFacts

# Residents counted for an operator: those with a place (or a current location) in the scope.
# NULL scope = the whole prefecture (everyone).
_IN_SCOPE = """
    (CAST(:scope AS text) IS NULL OR EXISTS (
        SELECT 1 FROM places pl WHERE pl.resident_id = {resident} AND pl.municipality_code = :scope))
"""


async def alert_figures(session: AsyncSession, alert_id: int, scope: str | None) -> dict:
    push_scope = _IN_SCOPE.format(resident="pm.resident_id")
    row = (
        await session.execute(
            text(
                f"""
                SELECT a.id, a.source, a.source_id, a.msg_type, a.category, a.headline, a.issued_at, a.is_drill,
                       a.event_id,
                       (SELECT count(DISTINCT pm.resident_id) FROM push_messages pm
                         WHERE pm.alert_id = a.id AND {push_scope}) AS residents_pushed,
                       (SELECT count(*) FROM deliveries d WHERE d.event_id = a.event_id AND d.last_alert_id = a.id
                         AND d.status = 'held' AND {_IN_SCOPE.format(resident="d.resident_id")}) AS residents_held,
                       (SELECT min(pm.sent_at) FROM push_messages pm
                         WHERE pm.alert_id = a.id AND pm.status = 'ok' AND {push_scope}) AS first_push_at,
                       (SELECT max(pm.sent_at) FROM push_messages pm
                         WHERE pm.alert_id = a.id AND pm.status = 'ok' AND {push_scope}) AS last_push_at
                FROM alerts a WHERE a.id = :id
                """
            ),
            {"id": alert_id, "scope": scope},
        )
    ).first()
    if row is None:
        return {}
    out = dict(row._mapping)
    by = await session.execute(
        text(
            f"""
            SELECT COALESCE(dv.push_kind, 'none') AS provider, pm.status, count(*) AS n
            FROM push_messages pm LEFT JOIN devices dv ON dv.id = pm.device_id
            WHERE pm.alert_id = :id AND {push_scope}
            GROUP BY 1, 2 ORDER BY 1, 2
            """
        ),
        {"id": alert_id, "scope": scope},
    )
    out["pushes"] = [dict(r._mapping) for r in by]
    return out


async def recent_alert_ids(session: AsyncSession, scope: str | None, limit: int) -> list[int]:
    rows = await session.execute(
        text(
            """SELECT id FROM alerts
               WHERE CAST(:scope AS text) IS NULL OR :scope = ANY(area_codes)
                  OR EXISTS (SELECT 1 FROM deliveries d JOIN places pl ON pl.resident_id = d.resident_id
                             WHERE d.event_id = alerts.event_id AND pl.municipality_code = :scope)
               ORDER BY issued_at DESC, id DESC LIMIT :lim"""
        ),
        {"scope": scope, "lim": limit},
    )
    return [r[0] for r in rows]


# One area per resident: home first, then any registered place, then a current location.
_RESIDENT_AREA = """
    SELECT DISTINCT ON (pl.resident_id) pl.resident_id, pl.municipality_code,
           floor(ST_Y(pl.geom) / :cell) * :cell AS cell_lat, floor(ST_X(pl.geom) / :cell) * :cell AS cell_lon
    FROM places pl
    ORDER BY pl.resident_id, CASE pl.kind WHEN 'home' THEN 0 WHEN 'current' THEN 2 ELSE 1 END, pl.id
"""


async def safety_by_area(session: AsyncSession, scope: str | None, event_key: str | None, cell_deg: float) -> dict:
    params = {"scope": scope, "event": event_key, "cell": cell_deg}
    where = """(CAST(:event AS text) IS NULL OR sc.event_key = :event)
               AND (CAST(:scope AS text) IS NULL OR ra.municipality_code = :scope)"""
    by_muni = await session.execute(
        text(
            f"""WITH ra AS ({_RESIDENT_AREA})
                SELECT ra.municipality_code, COALESCE(sc.answer_status, 'unanswered') AS status, count(*) AS n
                FROM safety_checks sc JOIN ra ON ra.resident_id = sc.resident_id
                WHERE {where}
                GROUP BY 1, 2 ORDER BY 1, 2"""
        ),
        params,
    )
    need_help = await session.execute(
        text(
            f"""WITH ra AS ({_RESIDENT_AREA})
                SELECT ra.municipality_code, ra.cell_lat, ra.cell_lon, count(*) AS n
                FROM safety_checks sc JOIN ra ON ra.resident_id = sc.resident_id
                WHERE {where} AND sc.answer_status = 'need_help'
                GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1"""
        ),
        params,
    )
    return {"by_municipality": [dict(r._mapping) for r in by_muni], "need_help_cells": [dict(r._mapping) for r in need_help]}


async def active_alerts(session: AsyncSession, limit: int) -> list[dict]:
    """Alerts whose event is still in force (not cancelled / cleared, ``in_force_until`` ahead:
    an alert without an expiry drops off a day after its last issue), newest first, with a
    simplified geometry for the console map."""
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
    out = []
    for r in rows:
        item = dict(r._mapping)
        raw = item.pop("facts", None)
        # The danger now (alerts.facts), not the latest document alone: per area on the
        # common danger scale, so the map colours what is in force where.
        facts = GroupFacts.from_json(raw) if raw else None
        if facts is not None:
            if not facts.in_force:
                continue  # a bulletin, or a danger lifted everywhere: nothing in force to draw
            in_force = {c: a for c, a in facts.areas.items() if a.in_force}
            if in_force or facts.areas:
                item["area_codes"] = sorted(in_force)
            item["area_levels"] = {c: a.level for c, a in in_force.items()}
            item["level"] = facts.max.level
            item["life_critical"] = any(a.life_critical for a in in_force.values()) or facts.default.life_critical
        else:
            item["area_levels"], item["level"], item["life_critical"] = {}, 0, False
        out.append(item)
    return out
