"""Targeting: every place an alert reaches, streamed out of Postgres in chunks.

Which places count: registered places (home, work, school, family, other) and each
device's current location (kind ``current``, ``device_id`` set) unless it has expired.
Area codes are matched on the codes stored with each place (an index join, no geometry;
the column per code is decided in ``alerts.targeting.codes``); a stored alert polygon is
covered by grid cells (``geo.grid``): places in cells wholly inside match by the cell
index, only those in cells the boundary crosses get an exact point-in-polygon test. Rows come from a server-side cursor, so a
million recipients never sit in memory at once.

Delivery decides what each match gets (critical for a ``current`` match, normal for a
registered place; the area's intensity / tsunami grade / warnings are in the alert payload
under ``area_code``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from operator import itemgetter
from typing import Any

import asyncpg
import orjson
import shapely
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.targeting import repository as repo
from alerts.targeting.codes import CodeTargets, code_targets, polygon_replaces_codes
from geo.grid import cover

log = structlog.get_logger()

# Applied with SET LOCAL: they last until the caller's transaction ends.
SESSION_SETTINGS = "SET LOCAL work_mem = '64MB'; SET LOCAL jit = off"


class Match(asyncpg.Record):
    """One matched place: a row as asyncpg decodes it (in C, no Python object built per row;
    building one cost more than fetching the row), read by name or by index, equal to the
    tuple ``(resident_id, place_id, place_kind, device_id, area_code)``."""

    __slots__ = ()
    resident_id: int = property(itemgetter(0))  # type: ignore[assignment]
    place_id: int = property(itemgetter(1))  # type: ignore[assignment]
    # home|work|school|family|other|current
    place_kind: str = property(itemgetter(2))  # type: ignore[assignment]
    # set only for kind 'current' (the device whose current location matched)
    device_id: int | None = property(itemgetter(3))  # type: ignore[assignment]
    # the alert area code that matched (None for polygon matches)
    area_code: str | None = property(itemgetter(4))  # type: ignore[assignment]


def alert_targets(alert: Any) -> tuple[CodeTargets | None, bool]:
    """What an alert row (``source``, ``category``, ``areas``, and ``geom_wkb`` or
    ``has_geom``) targets: its codes (None when none, or when a stored polygon replaces
    them) and whether its stored polygon counts."""
    areas = alert["areas"]
    if isinstance(areas, str):  # JSONB decoded as text by a bare driver
        areas = orjson.loads(areas)
    has_geom = alert.get("has_geom")
    if has_geom is None:
        has_geom = alert.get("geom_wkb") is not None
    codes = code_targets(alert["source"], alert["category"], areas)
    if has_geom and polygon_replaces_codes(alert["source"], alert["category"]):
        codes = None
    return codes or None, bool(has_geom)


async def match_query(conn: AsyncConnection, alert_id: int) -> tuple[str, list[Any]] | None:
    """The SQL (asyncpg ``$n``) and arguments that match ``alert_id``; None if it matches nothing."""
    alert = await repo.load_alert(conn, alert_id)
    if alert is None:
        log.warning("targeting.alert_missing", alert_id=alert_id)
        return None
    codes, has_geom = alert_targets(alert)
    if has_geom:
        interior, boundary = cover(shapely.from_wkb(bytes(alert["geom_wkb"])))
        return repo.polygon_match_query(alert_id, interior, boundary, codes)
    if not codes:
        log.info("targeting.no_targetable_area", alert_id=alert_id, category=alert["category"])
        return None
    return repo.code_match_query(codes)


# What each alert targets, parsed once per process: an alert row never changes once stored
# (a correction is a new alert), and a pull asks about every alert in force. Keyed by id and
# received_at, so an id reused after a TRUNCATE (tests, demo reloads) is never mistaken.
_TARGETS: OrderedDict[tuple[int, Any], tuple[CodeTargets | None, bool]] = OrderedDict()
_TARGETS_MAX = 4096


async def targets_of(conn: AsyncConnection, alerts: Sequence[Any]) -> list[tuple[int, CodeTargets | None, bool]]:
    """``(alert id, codes, has polygon)`` for alert rows with ``id`` and ``received_at``;
    areas are read only for alerts not seen before."""
    missing = [a["id"] for a in alerts if (a["id"], a["received_at"]) not in _TARGETS]
    if missing:
        rows = await conn.execute(
            text(
                "SELECT id, received_at, source, category, payload->'areas' AS areas, geom IS NOT NULL AS has_geom "
                "FROM alerts WHERE id = ANY(:ids)"
            ),
            {"ids": missing},
        )
        for row in rows.mappings():
            _TARGETS[(row["id"], row["received_at"])] = alert_targets(row)
            if len(_TARGETS) > _TARGETS_MAX:
                _TARGETS.popitem(last=False)
    keys = [(a["id"], a["received_at"]) for a in alerts]
    return [(key[0], *_TARGETS[key]) for key in keys if key in _TARGETS]


async def resident_places(conn: AsyncConnection, resident_id: int) -> list[dict[str, Any]]:
    """One resident's places by id: ``id``, ``updated_at``, ``live`` (counts for targeting
    now: an expired current location does not) and their area codes."""
    raw = (await conn.get_raw_connection()).driver_connection
    return [dict(r) for r in await raw.fetch(repo.RESIDENT_PLACES_SQL, resident_id)]


async def resident_matches(
    conn: AsyncConnection,
    resident_id: int,
    targets: Sequence[tuple[int, CodeTargets | None, bool]],
    places: Sequence[dict[str, Any]],
) -> dict[int, list[Match]]:
    """Which of one resident's places each alert reaches, by the same rules as a fan-out:
    ``{alert id: [Match, ...]}`` for the alerts that reach any (one statement for all).
    ``targets`` come from ``targets_of``, ``places`` from ``resident_places``. Alerts whose
    codes none of the resident's live places carries are left out in Python first (a pull
    asks about every alert in force)."""
    places = [p for p in places if p["live"]]
    if not places:
        return {}
    raw = (await conn.get_raw_connection()).driver_connection
    params = repo.Params()
    resident = params.add(resident_id) + "::bigint"
    parts = []
    for alert_id, codes, has_geom in targets:
        if has_geom or (codes and any(codes.may_hit(p) for p in places)):
            parts.append(repo.resident_match_query(alert_id, codes, has_geom, resident, params))
    if not parts:
        return {}
    out: dict[int, list[Match]] = {}
    for m in await raw.fetch(" UNION ALL ".join(parts), *params.args, record_class=Match):
        out.setdefault(m[5], []).append(m)  # the sixth column: the alert
    return out


async def stream_query(
    conn: AsyncConnection, sql: str, args: list[Any], *, chunk_size: int = 5000
) -> AsyncIterator[list[Match]]:
    """Run a match query on a server-side cursor inside ``conn``'s transaction and yield
    chunks of about ``chunk_size`` Matches, never splitting one resident across chunks
    (the rows are ordered by resident, so the last resident of a fetch is held back until
    the next fetch shows whether more of their rows follow)."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    raw = (await conn.get_raw_connection()).driver_connection
    if not raw.is_in_transaction():
        # A cursor lives in a transaction; SQLAlchemy (auto)begins one at the first statement.
        await conn.exec_driver_sql("SELECT 1")
        raw = (await conn.get_raw_connection()).driver_connection
    # The sort by resident stays in memory (370k rows need ~36 MB; the 4 MB default spills to
    # disk), and no JIT: compiling costs more than it saves on these plans (0.6 s seen).
    await raw.execute(SESSION_SETTINGS)
    cur = await raw.cursor(sql, *args, record_class=Match)
    carry: list[Match] = []
    while True:
        rows = await cur.fetch(chunk_size)
        batch = carry + rows if carry else rows
        if len(rows) < chunk_size:  # the cursor is exhausted
            if batch:
                yield batch
            return
        last = batch[-1].resident_id
        cut = len(batch) - 1
        while cut > 0 and batch[cut - 1].resident_id == last:
            cut -= 1
        if cut == 0:  # one resident fills the whole fetch: keep reading
            carry = batch
            continue
        carry = batch[cut:]
        yield batch[:cut]


async def iter_matches(conn: AsyncConnection, alert_id: int, *, chunk_size: int = 5000) -> AsyncIterator[list[Match]]:
    """All places matched by the alert, streamed in chunks ORDERED BY resident_id (then
    place_id), with all rows of one resident inside the same chunk (so the caller can
    aggregate per resident); one row per place. Expired current locations
    (expires_at <= now()) never match.

    Runs in ``conn``'s transaction (begun if none is open) and leaves it to the caller to
    end; sets ``work_mem`` and ``jit`` for that transaction (SET LOCAL). Close the iterator if you stop early (``contextlib.aclosing``) so the cursor goes.
    A missing alert, or one with no targetable area, yields nothing.
    """
    query = await match_query(conn, alert_id)
    if query is None:
        return
    sql, args = query
    async for chunk in stream_query(conn, sql, args, chunk_size=chunk_size):
        yield chunk
