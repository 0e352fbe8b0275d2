"""Targeting: every place an alert reaches, streamed out of Postgres in chunks.

Which places count: registered places (home, work, school, family, other) and each
device's current location (kind ``current``, ``device_id`` set) unless it has expired.
Area codes are matched on the codes stored with each place (an index join, no geometry;
the column per code is decided in ``alerts.targeting.codes``); a stored alert polygon is
covered by grid cells (``geo.grid``): places in cells wholly inside match by the cell
index, only those in cells the boundary crosses get an exact point-in-polygon test. Matches
come from a server-side cursor as column arrays per bucket of resident ids (a few hundred rows
instead of one per place), so a million recipients never sit in memory at once.

Delivery decides what each match gets (critical for a ``current`` match, normal for a
registered place; the area's intensity / tsunami grade / warnings are in the alert payload
under ``area_code``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, NamedTuple

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


class Match(NamedTuple):
    """One matched place."""

    resident_id: int
    place_id: int
    place_kind: str  # home|work|school|family|other|current
    device_id: int | None  # set only for kind 'current' (the device whose current location matched)
    area_code: str | None  # the alert area code that matched (None for polygon matches)


class MatchChunk(Sequence[Match]):
    """Matches of whole residents (a resident's places are never split between chunks), held
    as columns, the way they come off the wire: the same index in each list is one place.
    Iterating builds a ``Match`` per place; ``resident_ids`` and friends need none. Places of
    one resident are not necessarily adjacent, and residents are in no order inside a chunk;
    chunks come in ascending ranges of resident ids."""

    __slots__ = ("resident_ids", "place_ids", "kinds", "device_ids", "area_codes")

    def __init__(self, resident_ids=(), place_ids=(), kinds=(), device_ids=(), area_codes=()):
        self.resident_ids: list[int] = list(resident_ids)
        self.place_ids: list[int] = list(place_ids)
        self.kinds: list[str] = list(kinds)
        self.device_ids: list[int | None] = list(device_ids)
        # None: no area code at all (a polygon alone matched), not shipped per place
        self.area_codes: list[str | None] = [None] * len(self.resident_ids) if area_codes is None else list(area_codes)

    def _columns(self) -> tuple[list, ...]:
        return self.resident_ids, self.place_ids, self.kinds, self.device_ids, self.area_codes

    def __len__(self) -> int:
        return len(self.resident_ids)

    def __iter__(self) -> Iterator[Match]:
        return map(Match, *self._columns())

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return MatchChunk(*(c[i] for c in self._columns()))
        return Match(*(c[i] for c in self._columns()))

    def __repr__(self) -> str:
        return f"MatchChunk({list(self)!r})"

    def extend(self, other: MatchChunk) -> None:
        for mine, theirs in zip(self._columns(), other._columns()):
            mine.extend(theirs)

    def split_residents(self, n: int) -> tuple[MatchChunk, MatchChunk]:
        """(the places of the first ``n`` residents met, the rest), no resident split."""
        first = set()
        for rid in self.resident_ids:
            if len(first) == n:
                break
            first.add(rid)
        head, tail = MatchChunk(), MatchChunk()
        for m in self:
            (head if m.resident_id in first else tail).append(m)
        return head, tail

    def append(self, m: Match) -> None:
        for column, value in zip(self._columns(), m):
            column.append(value)


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


def bucket_width(chunk_size: int) -> int:
    """Resident ids per bucket: a bucket of residents with a few places each fits a chunk."""
    return max(1, chunk_size // 4)


async def match_query(conn: AsyncConnection, alert_id: int, chunk_size: int = 5000) -> tuple[str, list[Any]] | None:
    """The SQL (asyncpg ``$n``) and arguments that match ``alert_id``, by bucket of resident
    ids (``repo.by_bucket``); None if it matches nothing."""
    query = await _place_query(conn, alert_id)
    if query is None:
        return None
    sql, args, area_codes = query
    return repo.by_bucket(sql, args, bucket_width(chunk_size), area_codes=area_codes)


async def _place_query(conn: AsyncConnection, alert_id: int) -> tuple[str, list[Any], bool] | None:
    """(SQL of one row per matched place, its arguments, whether area codes can match)."""
    alert = await repo.load_alert(conn, alert_id)
    if alert is None:
        log.warning("targeting.alert_missing", alert_id=alert_id)
        return None
    codes, has_geom = alert_targets(alert)
    if has_geom:
        interior, boundary = cover(shapely.from_wkb(bytes(alert["geom_wkb"])))
        return *repo.polygon_match_query(alert_id, interior, boundary, codes), bool(codes)
    if not codes:
        log.info("targeting.no_targetable_area", alert_id=alert_id, category=alert["category"])
        return None
    return *repo.code_match_query(codes), True


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
    for r in await raw.fetch(" UNION ALL ".join(parts), *params.args):
        out.setdefault(r[5], []).append(Match(*r[:5]))  # the sixth column: the alert
    return out


_KIND = repo.PLACE_KINDS_ALL
# Buckets asked for per round trip: at most 16 × (width × places per resident) rows in memory.
_BUCKETS_PER_FETCH = 16


async def stream_query(
    conn: AsyncConnection, sql: str, args: list[Any], *, chunk_size: int = 5000
) -> AsyncIterator[MatchChunk]:
    """Run a bucketed match query (``repo.by_bucket``) on a server-side cursor inside
    ``conn``'s transaction and yield ``MatchChunk``s of about ``chunk_size`` places: buckets
    are joined while they fit, a bucket bigger than that comes alone, none is ever split."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    raw = (await conn.get_raw_connection()).driver_connection
    if not raw.is_in_transaction():
        # A cursor lives in a transaction; SQLAlchemy (auto)begins one at the first statement.
        await conn.exec_driver_sql("SELECT 1")
        raw = (await conn.get_raw_connection()).driver_connection
    # Hash aggregation stays in memory (370k places need ~40 MB; the 4 MB default spills to
    # disk), and no JIT: compiling costs more than it saves on these plans (0.6 s seen).
    await raw.execute(SESSION_SETTINGS)
    cur = await raw.cursor(sql, *args)
    chunk = MatchChunk()
    while True:
        rows = await cur.fetch(_BUCKETS_PER_FETCH)
        for _, residents, places, kinds, devices, areas in rows:
            bucket = MatchChunk(residents, places, map(_KIND.__getitem__, kinds), devices, areas)
            if chunk and len(chunk) + len(bucket) > chunk_size:
                yield chunk
                chunk = bucket
            else:
                chunk.extend(bucket)
        if len(rows) < _BUCKETS_PER_FETCH:  # the cursor is exhausted
            if chunk:
                yield chunk
            return


async def iter_matches(conn: AsyncConnection, alert_id: int, *, chunk_size: int = 5000) -> AsyncIterator[MatchChunk]:
    """All places matched by the alert, one ``Match`` each, streamed in ``MatchChunk``s of
    about ``chunk_size`` places in ascending ranges of resident ids, all places of one
    resident inside the same chunk (so the caller can aggregate per resident). Expired
    current locations (expires_at <= now()) never match.

    Runs in ``conn``'s transaction (begun if none is open) and leaves it to the caller to
    end; sets ``work_mem`` and ``jit`` for that transaction (SET LOCAL). Close the iterator if you stop early (``contextlib.aclosing``) so the cursor goes.
    A missing alert, or one with no targetable area, yields nothing.
    """
    query = await match_query(conn, alert_id, chunk_size)
    if query is None:
        return
    sql, args = query
    async for chunk in stream_query(conn, sql, args, chunk_size=chunk_size):
        yield chunk
