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

from collections.abc import AsyncIterator
from dataclasses import dataclass
from itertools import starmap
from typing import Any

import orjson
import shapely
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.targeting import repository as repo
from alerts.targeting.codes import code_targets, polygon_replaces_codes
from geo.grid import cover

log = structlog.get_logger()

# Applied with SET LOCAL: they last until the caller's transaction ends.
SESSION_SETTINGS = "SET LOCAL work_mem = '64MB'; SET LOCAL jit = off"


@dataclass(slots=True, frozen=True)
class Match:
    resident_id: int
    place_id: int
    place_kind: str  # home|work|school|family|other|current
    device_id: int | None  # set only for kind 'current' (the device whose current location matched)
    area_code: str | None  # the alert area code that matched (None for polygon matches)


async def match_query(conn: AsyncConnection, alert_id: int) -> tuple[str, list[Any]] | None:
    """The SQL (asyncpg ``$n``) and arguments that match ``alert_id``; None if it matches nothing."""
    alert = await repo.load_alert(conn, alert_id)
    if alert is None:
        log.warning("targeting.alert_missing", alert_id=alert_id)
        return None
    source, category = alert["source"], alert["category"]
    areas = alert["areas"]
    if isinstance(areas, str):  # JSONB decoded as text by a bare driver
        areas = orjson.loads(areas)
    codes = code_targets(source, category, areas)
    if alert["geom_wkb"] is not None:
        if polygon_replaces_codes(source, category):
            codes = None
        interior, boundary = cover(shapely.from_wkb(bytes(alert["geom_wkb"])))
        return repo.polygon_match_query(alert_id, interior, boundary, codes or None)
    if not codes:
        log.info("targeting.no_targetable_area", alert_id=alert_id, category=category)
        return None
    return repo.code_match_query(codes)


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
    # The sort by resident stays in memory (500k rows need ~40 MB; the 4 MB default spills to
    # disk), and no JIT: compiling costs more than it saves on these plans (0.6 s seen).
    await raw.execute(SESSION_SETTINGS)
    cur = await raw.cursor(sql, *args)
    carry: list[Match] = []
    while True:
        rows = await cur.fetch(chunk_size)
        batch = carry + list(starmap(Match, rows)) if carry else list(starmap(Match, rows))
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
