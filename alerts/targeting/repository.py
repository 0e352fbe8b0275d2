"""SQL for targeting (asyncpg-native ``$n`` parameters: the match queries run on a server-side cursor).

Places and alerts have other owners: the statements read the views they define for this one
hot-path join, ``targetable_places`` (my_evacuation.places) and ``alert_areas``
(alerts.events); plain views the planner inlines, so the plans are the tables' own.

Every match query selects ``resident_id, id, kind, device_id, area_code``, one row per place,
in no particular order; the caller orders it by resident, or ``by_bucket`` turns it into one
row of column arrays per bucket of consecutive resident ids. A polygon alone has a query of
its own that groups each part right off its index (``polygon_by_bucket``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.targeting.codes import COLUMNS, CodeTargets
from my_evacuation.places.models import PLACE_KINDS
from server.db import driver_in_transaction

# Every kind a matched place can have. ``by_bucket`` sends each as the code of its first
# letter (``ascii(kind)``: one cheap call, where a CASE compared text up to six times per place).
PLACE_KINDS_ALL = (*PLACE_KINDS, "current")
KIND_BY_CODE: tuple[str | None, ...] = tuple(
    next((k for k in PLACE_KINDS_ALL if ord(k[0]) == code), None) for code in range(128)
)
if len({k[0] for k in PLACE_KINDS_ALL}) != len(PLACE_KINDS_ALL):
    raise RuntimeError("place kinds must differ in their first letter (by_bucket sends that letter's code)")

# Expired current locations never match; registered places never expire (a check constraint
# keeps their expires_at NULL, so no comparison of the kind is needed per place).
LIVE = "(p.expires_at IS NULL OR p.expires_at > now())"

ALERT_SQL = text(
    "SELECT id, source, category, areas, ST_AsBinary(geom) AS geom_wkb FROM alert_areas WHERE id = :id"
)


async def load_alert(conn: AsyncConnection, alert_id: int):
    return (await conn.execute(ALERT_SQL, {"id": alert_id})).mappings().first()


_ALERT_TARGETS_SQL = (
    "SELECT id, received_at, source, category, areas, geom IS NOT NULL AS has_geom FROM alert_areas "
    "WHERE id = ANY($1::bigint[])"
)


async def alert_targets_rows(raw: Any, alert_ids: list[int]) -> list[Any]:
    """``id, received_at, source, category, areas, has_geom`` of these alerts, on a driver
    (asyncpg) connection; ``areas`` may come as JSON text."""
    return list(await raw.fetch(_ALERT_TARGETS_SQL, alert_ids))


class Params:
    """Numbered asyncpg arguments (``$1``, ``$2`` …) collected while SQL is built."""

    def __init__(self, first: int = 1):
        self.args: list[Any] = []
        self.first = first

    def add(self, value: Any) -> str:
        self.args.append(value)
        return f"${self.first + len(self.args) - 1}"


def _code_predicate(t: CodeTargets, params: Params) -> tuple[str, str]:
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


# A matched place as every match query selects it (``p``: a row of places).
_PLACE = "p.resident_id, p.id, p.kind, p.device_id"


def code_match_query(t: CodeTargets) -> tuple[str, list[Any]]:
    """Places whose stored codes are in the alert's areas: index scans (bitmap OR), no geometry."""
    params = Params()
    where, area = _code_predicate(t, params)
    sql = (
        f"SELECT {_PLACE}, {area} AS area_code FROM targetable_places p WHERE {where} AND {LIVE}"
    )
    return sql, params.args


def _polygon_parts(alert_id: int, interior: list[int], boundary: list[int], params: Params) -> tuple[str, str]:
    """``FROM … WHERE …`` of a polygon's two parts, each over rows named ``p``: places in its
    interior cells, and places in its boundary cells inside the alert's stored polygon.

    ``interior`` / ``boundary`` are the polygon's grid cover (geo.grid.cover): places in
    interior cells match by the cell index alone; only places in boundary cells get the
    exact ST_Intersects, against the alert's polygon (PostGIS prepares a geometry that
    repeats across rows, so each of those tests is a cheap point-in-polygon lookup). The
    boundary places are fetched by cell first (OFFSET 0 fences the subquery, keeping the
    planner from also scanning the GiST index with the polygon's bounding box, which covers
    most rows)."""
    alert = params.add(alert_id) + "::bigint"
    inside = f"FROM targetable_places p WHERE p.cell = ANY({params.add(interior)}::int[]) AND {LIVE}"
    edge = (
        f"FROM (SELECT {_PLACE}, p.geom FROM targetable_places p "
        f"WHERE p.cell = ANY({params.add(boundary)}::int[]) AND {LIVE} OFFSET 0) p "
        f"JOIN alert_areas a ON a.id = {alert} WHERE ST_Intersects(p.geom, a.geom)"
    )
    return inside, edge


def _bucket_arrays(alias: str, area_codes: bool) -> str:
    """The column arrays of a bucket (see ``by_bucket``) aggregated from rows named ``alias``."""
    area = f"array_agg({alias}.area_code)" if area_codes else "NULL::text[]"
    return (
        f"array_agg({alias}.resident_id), array_agg({alias}.id), array_agg(ascii({alias}.kind)), "
        f"array_agg({alias}.device_id), {area}"
    )


def polygon_match_query(
    alert_id: int, interior: list[int], boundary: list[int], codes: CodeTargets | None = None
) -> tuple[str, list[Any]]:
    """Places inside the alert's stored polygon (``_polygon_parts``), in union with the code
    matches when ``codes`` is given; one row per place, a code match preferred (it names the area)."""
    params = Params()
    inside, edge = _polygon_parts(alert_id, interior, boundary, params)
    polygon = f"SELECT {_PLACE}, NULL::text AS area_code {inside} UNION ALL SELECT {_PLACE}, NULL::text {edge}"
    if not codes:
        return polygon, params.args
    where, area = _code_predicate(codes, params)
    sql = (
        f"WITH m AS (SELECT {_PLACE}, {area} AS area_code "
        f"FROM targetable_places p WHERE {where} AND {LIVE} UNION ALL {polygon}) "
        "SELECT DISTINCT ON (m.resident_id, m.id) m.resident_id, m.id, m.kind, m.device_id, m.area_code "
        "FROM m ORDER BY m.resident_id, m.id, m.area_code IS NULL"
    )
    return sql, params.args


def polygon_by_bucket(alert_id: int, interior: list[int], boundary: list[int], width: int) -> tuple[str, list[Any]]:
    """A polygon alone (no codes) matched as ``polygon_match_query`` does and shipped as
    ``by_bucket`` does, each part grouped straight off its index scan: interior cells, then
    boundary cells after the exact test. A bucket can come twice (once per part), in adjacent
    rows; rows are in bucket order. Without the union and subquery between scan and grouping
    (each a projection of every place) Postgres groups a 370k-place polygon in ~0.10 s, not ~0.15 s.
    Plan it with ``enable_sort`` off (``BUCKET_SETTINGS``): Postgres cannot know how few
    buckets ``resident_id / width`` makes, and would sort every place to group them."""
    params = Params()
    inside, edge = _polygon_parts(alert_id, interior, boundary, params)
    bucket = f"p.resident_id / {params.add(width)}::bigint"
    arrays = _bucket_arrays("p", area_codes=False)
    sql = (
        f"SELECT {bucket} AS bucket, {arrays} {inside} GROUP BY 1 "
        f"UNION ALL SELECT {bucket}, {arrays} {edge} GROUP BY 1 ORDER BY 1"
    )
    return sql, params.args


# Planner settings for ``polygon_by_bucket`` (SET LOCAL: they last until the transaction ends).
BUCKET_SETTINGS = "SET LOCAL enable_sort = off"


async def open_cursor(conn: AsyncConnection, sql: str, args: list[Any], *, settings: tuple[str | None, ...],
                      record_class: Any = None) -> Any:
    """A server-side cursor over ``sql`` inside ``conn``'s transaction, after the ``SET LOCAL``
    statements in ``settings`` (None skipped)."""
    raw = await driver_in_transaction(conn)  # a cursor lives in a transaction
    for statement in settings:
        if statement:
            await raw.execute(statement)
    return await raw.cursor(sql, *args, record_class=record_class)


# One resident's places: whether each counts now, and the codes targeting compares
# (``CodeTargets.may_hit``).
RESIDENT_PLACES_SQL = (
    f"SELECT p.id, p.updated_at, {LIVE} AS live, {', '.join(COLUMNS)} FROM targetable_places p WHERE p.resident_id = $1 ORDER BY p.id"
)


def resident_match_query(alert_id: int, codes: CodeTargets | None, has_geom: bool, resident: str, params: Params) -> str:
    """One resident's places that an alert reaches: ``resident_id, place_id, kind, device_id,
    area_code, alert_id`` (a SELECT to join with others by UNION ALL; ``resident`` is the
    parameter holding the resident id). Same rules as the fan-out queries, without the grid cover:
    with a handful of places, the exact test on each is cheapest."""
    alert = params.add(alert_id) + "::bigint"
    conds, area = [], "NULL::text"
    if codes:
        where, area = _code_predicate(codes, params)
        conds.append(where)
    if has_geom:
        conds.append(f"EXISTS (SELECT 1 FROM alert_areas a WHERE a.id = {alert} AND ST_Intersects(p.geom, a.geom))")
    return (
        f"SELECT {_PLACE}, {area} AS area_code, {alert} AS alert_id "
        f"FROM targetable_places p WHERE p.resident_id = {resident} AND {LIVE} AND ({' OR '.join(conds)})"
    )


def by_bucket(sql: str, args: list[Any], width: int, *, area_codes: bool = True) -> tuple[str, list[Any]]:
    """The matches of ``sql`` as one row per bucket of ``width`` consecutive resident ids, in
    bucket order: ``bucket, resident_ids[], place_ids[], kinds[], device_ids[], area_codes[]``
    (the same index in each array is one place). Kinds are sent as the code of their first
    letter (``KIND_BY_CODE``: a small int decodes to a cached object, a string is built every
    time); ``area_codes`` False sends NULL instead of an array of NULLs (a polygon alone).
    Shipping a few hundred rows of arrays instead of a row per place, and grouping by hash
    instead of sorting every match, took a 370k-place polygon from 0.44 s to 0.30–0.37 s,
    most of it saved in decoding rows."""
    params = Params(first=len(args) + 1)
    bucket = f"m.resident_id / {params.add(width)}::bigint"
    return (
        f"SELECT {bucket} AS bucket, {_bucket_arrays('m', area_codes)} FROM ({sql}) m GROUP BY 1 ORDER BY 1",
        [*args, *params.args],
    )


def plain_intersects_query(alert_id: int, *, ordered: bool = True) -> tuple[str, list[Any]]:
    """The baseline: raw points against the alert's whole polygon, no codes, no subdivision;
    a row per place in resident order (``ordered``), else unordered for ``by_bucket``."""
    sql = (
        f"SELECT {_PLACE}, NULL::text AS area_code "
        f"FROM alert_areas a JOIN targetable_places p ON ST_Intersects(p.geom, a.geom) WHERE a.id = $1::bigint AND {LIVE}"
    )
    return (sql + " ORDER BY p.resident_id, p.id" if ordered else sql), [alert_id]
