"""SQL for targeting (asyncpg-native ``$n`` parameters: the match queries run on a server-side cursor).

Every match query returns ``resident_id, place_id, place_kind, device_id, area_code`` ordered
by ``(resident_id, place_id)``, one row per place.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.targeting.codes import COLUMNS, CodeTargets

# Expired current locations never match; registered places never expire.
LIVE = "(p.kind <> 'current' OR p.expires_at IS NULL OR p.expires_at > now())"
# Largest number of vertices per piece of a subdivided alert polygon: small pieces have
# tight bounding boxes, so the GiST index discards most points and each test is cheap.
SUBDIVIDE_MAX_VERTICES = 128

ALERT_SQL = text(
    "SELECT id, source, category, payload->'areas' AS areas, geom IS NOT NULL AS has_geom FROM alerts WHERE id = :id"
)


async def load_alert(conn: AsyncConnection, alert_id: int):
    return (await conn.execute(ALERT_SQL, {"id": alert_id})).mappings().first()


class _Params:
    def __init__(self, first: int = 1):
        self.args: list[Any] = []
        self.first = first

    def add(self, value: Any) -> str:
        self.args.append(value)
        return f"${self.first + len(self.args) - 1}"


def _code_predicate(t: CodeTargets, params: _Params) -> tuple[str, str]:
    """(WHERE predicate, area_code expression) for the codes, most specific area first."""
    conds: list[str] = []
    cases: list[str] = []
    for column in COLUMNS:
        codes = t.exact.get(column)
        if codes:
            cond = f"p.{column} = ANY({params.add(list(codes))}::text[])"
            conds.append(cond)
            cases.append(f"WHEN {cond} THEN p.{column}::text")
        for lo, hi, area_code in t.ranges.get(column, ()):
            cond = f"p.{column} BETWEEN {params.add(lo)}::text AND {params.add(hi)}::text"
            conds.append(cond)
            cases.append(f"WHEN {cond} THEN {params.add(area_code)}::text")
    return "(" + " OR ".join(conds) + ")", "CASE " + " ".join(cases) + " END"


def code_match_query(t: CodeTargets) -> tuple[str, list[Any]]:
    """Places whose stored codes are in the alert's areas: index scans (bitmap OR), no geometry."""
    params = _Params()
    where, area = _code_predicate(t, params)
    sql = (
        f"SELECT p.resident_id, p.id, p.kind, p.device_id, {area} AS area_code "
        f"FROM places p WHERE {where} AND {LIVE} ORDER BY p.resident_id, p.id"
    )
    return sql, params.args


def _pieces_cte(alert_param: str, max_vertices: int) -> str:
    return (
        f"pieces AS MATERIALIZED (SELECT ST_Subdivide(a.geom, {int(max_vertices)}) AS g "
        f"FROM alerts a WHERE a.id = {alert_param})"
    )


def polygon_match_query(
    alert_id: int, codes: CodeTargets | None = None, *, max_vertices: int = SUBDIVIDE_MAX_VERTICES
) -> tuple[str, list[Any]]:
    """Places inside the alert's stored polygon (subdivided once, joined on the places GiST
    index), in union with the code matches when ``codes`` is given; one row per place,
    a code match preferred (it names the area)."""
    params = _Params()
    pieces = _pieces_cte(params.add(alert_id) + "::bigint", max_vertices)
    polygon = (
        "SELECT p.resident_id, p.id, p.kind, p.device_id, NULL::text AS area_code "
        f"FROM pieces s JOIN places p ON ST_Intersects(p.geom, s.g) WHERE {LIVE}"
    )
    if codes:
        where, area = _code_predicate(codes, params)
        matched = (
            f"SELECT p.resident_id, p.id, p.kind, p.device_id, {area} AS area_code "
            f"FROM places p WHERE {where} AND {LIVE} UNION ALL {polygon}"
        )
    else:
        matched = polygon
    sql = (
        f"WITH {pieces}, m AS ({matched}) "
        "SELECT DISTINCT ON (m.resident_id, m.id) m.resident_id, m.id, m.kind, m.device_id, m.area_code "
        "FROM m ORDER BY m.resident_id, m.id, m.area_code IS NULL"
    )
    return sql, params.args


def plain_intersects_query(alert_id: int) -> tuple[str, list[Any]]:
    """The baseline: raw points against the alert's whole polygon, no codes, no subdivision."""
    sql = (
        "SELECT p.resident_id, p.id, p.kind, p.device_id, NULL::text AS area_code "
        f"FROM alerts a JOIN places p ON ST_Intersects(p.geom, a.geom) WHERE a.id = $1::bigint AND {LIVE} "
        "ORDER BY p.resident_id, p.id"
    )
    return sql, [alert_id]
