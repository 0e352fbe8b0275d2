"""Targeting: every place an alert reaches, streamed out of Postgres in chunks.

Which places count: registered places (home, work, school, family, other) and each
device's current location (kind ``current``, ``device_id`` set) unless it has expired.
Area codes are matched on the codes stored with each place (an index join, no geometry;
the column per code is decided in ``alerts.targeting.codes``); a stored alert polygon is
covered by grid cells (``geo.grid``): places in cells wholly inside match by the cell
index, only those in cells the boundary crosses get an exact point-in-polygon test. Matches
come from a server-side cursor in chunks (``match_query`` says how: rows in resident order for
codes, column arrays per bucket of resident ids for a polygon), so a million recipients never
sit in memory at once.

Delivery decides what each match gets (critical for a ``current`` match, normal for a
registered place; the area's intensity / tsunami grade / warnings are in the alert payload
under ``area_code``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator, Sequence
from operator import itemgetter
from typing import Any, NamedTuple

import asyncpg
import orjson
import shapely
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.targeting import repository as repo
from alerts.targeting.codes import CodeTargets, code_targets, polygon_replaces_codes
from geo.grid import cover

log = structlog.get_logger()

# Applied with SET LOCAL: they last until the caller's transaction ends.
# Sorts and hash aggregation stay in memory (370k places need ~40 MB; the 4 MB default
# spills to disk), and no JIT: compiling costs more than it saves on these plans (0.6 s seen).
SESSION_SETTINGS = "SET LOCAL work_mem = '64MB'; SET LOCAL jit = off"


class Match(NamedTuple):
    """One matched place."""

    resident_id: int
    place_id: int
    place_kind: str  # home|work|school|family|other|current
    device_id: int | None  # set only for kind 'current' (the device whose current location matched)
    area_code: str | None  # the alert area code that matched (None for polygon matches)


class MatchRow(asyncpg.Record):
    """A ``Match`` as asyncpg decodes a row (in C: no Python object is built per row, which
    cost more than fetching it), read by the same names; equal to the same tuple."""

    __slots__ = ()
    resident_id: int = property(itemgetter(0))  # type: ignore[assignment]
    place_id: int = property(itemgetter(1))  # type: ignore[assignment]
    place_kind: str = property(itemgetter(2))  # type: ignore[assignment]
    device_id: int | None = property(itemgetter(3))  # type: ignore[assignment]
    area_code: str | None = property(itemgetter(4))  # type: ignore[assignment]


class MatchChunk(Sequence[Match]):
    """Matches of whole residents (a resident's places are never split between chunks), held
    as columns, the way they come off the wire: the same index in each list is one place.
    Iterating builds a ``Match`` per place; ``resident_ids`` and friends need none. Places of
    one resident are not necessarily adjacent, and residents are in no order inside a chunk;
    chunks come in ascending ranges of resident ids."""

    __slots__ = ("resident_ids", "place_ids", "kinds", "device_ids", "area_codes")

    def __init__(self, resident_ids=(), place_ids=(), kinds=(), device_ids=(), area_codes=()):
        self.resident_ids: list[int] = []
        self.place_ids: list[int] = []
        self.kinds: list[str] = []
        self.device_ids: list[int | None] = []
        self.area_codes: list[str | None] = []
        self.add(resident_ids, place_ids, kinds, device_ids, area_codes)

    def add(self, resident_ids, place_ids, kinds, device_ids, area_codes) -> None:
        """Append places given as columns (sequences of equal length); ``area_codes`` None:
        none of them has one (a polygon alone matched, none shipped per place)."""
        self.resident_ids += resident_ids
        self.place_ids += place_ids
        self.kinds += kinds
        self.device_ids += device_ids
        self.area_codes += [None] * len(resident_ids) if area_codes is None else area_codes

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


def split_residents(chunk: Sequence[Match], n: int) -> tuple[list[Match], list[Match]]:
    """(the places of the first ``n`` residents met in ``chunk``, the rest): no resident split."""
    first: set[int] = set()
    for m in chunk:
        if len(first) == n:
            break
        first.add(m.resident_id)
    head, tail = [], []
    for m in chunk:
        (head if m.resident_id in first else tail).append(m)
    return head, tail


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


class MatchQuery(NamedTuple):
    """SQL (asyncpg ``$n``) and arguments of a match query, and how its matches come back:
    ``bucketed`` (``repo.by_bucket``: a row of column arrays per bucket of resident ids, a
    bucket possibly split over adjacent rows) or a row per place in resident order; and
    planner settings of its own (``SET LOCAL`` statements, run before it)."""

    sql: str
    args: list[Any]
    bucketed: bool
    settings: str = ""


async def match_query(conn: AsyncConnection, alert_id: int, chunk_size: int = 5000) -> MatchQuery | None:
    """How to match ``alert_id``; None if it matches nothing.

    Area codes alone: a row per place in resident order. Postgres can walk the places by
    resident (an index) and hand out the first rows at once, so the first pushes of a
    prefecture-wide alert leave while the rest is still being read (1.5 s sooner at a
    million places than grouping first). A polygon: by bucket. Its places come by grid cell
    in no resident order, so every match must be sorted or grouped before the first is
    sent anyway, and grouped arrays decode much faster than rows."""
    alert = await repo.load_alert(conn, alert_id)
    if alert is None:
        log.warning("targeting.alert_missing", alert_id=alert_id)
        return None
    codes, has_geom = alert_targets(alert)
    if has_geom:
        interior, boundary = cover(shapely.from_wkb(bytes(alert["geom_wkb"])))
        width = bucket_width(chunk_size)
        if not codes:
            return MatchQuery(*repo.polygon_by_bucket(alert_id, interior, boundary, width), True, repo.BUCKET_SETTINGS)
        sql, args = repo.by_bucket(*repo.polygon_match_query(alert_id, interior, boundary, codes), width)
        return MatchQuery(sql, args, True)
    if not codes:
        log.info("targeting.no_targetable_area", alert_id=alert_id, category=alert["category"])
        return None
    sql, args = repo.code_match_query(codes)
    return MatchQuery(sql + " ORDER BY 1, 2", args, False)  # resident, place


# What each alert targets, parsed once per process: an alert row never changes once stored
# (a correction is a new alert), and a pull asks about every alert in force. Keyed by id and
# received_at, so an id reused after a TRUNCATE (tests, demo reloads) is never mistaken.
_TARGETS: OrderedDict[tuple[int, Any], tuple[CodeTargets | None, bool]] = OrderedDict()
_TARGETS_MAX = 4096


async def targets_of(raw: Any, alerts: Sequence[Any]) -> list[tuple[int, CodeTargets | None, bool]]:
    """``(alert id, codes, has polygon)`` for alert rows with ``id`` and ``received_at``;
    areas are read only for alerts not seen before. ``raw``: a driver (asyncpg) connection,
    as for the two below (the pull runs them on one, with or without an ORM session)."""
    missing = [a["id"] for a in alerts if (a["id"], a["received_at"]) not in _TARGETS]
    if missing:
        for row in await repo.alert_targets_rows(raw, missing):
            _TARGETS[(row["id"], row["received_at"])] = alert_targets(row)
            if len(_TARGETS) > _TARGETS_MAX:
                _TARGETS.popitem(last=False)
    keys = [(a["id"], a["received_at"]) for a in alerts]
    return [(key[0], *_TARGETS[key]) for key in keys if key in _TARGETS]


async def resident_places(raw: Any, resident_id: int) -> list[dict[str, Any]]:
    """One resident's places by id: ``id``, ``updated_at``, ``live`` (counts for targeting
    now: an expired current location does not) and their area codes."""
    return [dict(r) for r in await raw.fetch(repo.RESIDENT_PLACES_SQL, resident_id)]


async def resident_matches(
    raw: Any,
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


_KIND = repo.KIND_BY_CODE
# Buckets asked for per round trip: at most 16 × (width × places per resident) rows in memory.
_BUCKETS_PER_FETCH = 16


async def stream_query(
    conn: AsyncConnection, query: MatchQuery, *, chunk_size: int = 5000
) -> AsyncIterator[Sequence[Match]]:
    """Run a match query on a server-side cursor inside ``conn``'s transaction and yield
    chunks of about ``chunk_size`` places, never splitting a resident's places: a
    ``MatchChunk`` per group of buckets, or a list of ``MatchRow`` in resident order."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    cur = await repo.open_cursor(conn, query.sql, query.args, settings=(SESSION_SETTINGS, query.settings),
                                 record_class=None if query.bucketed else MatchRow)
    chunks = _joined_buckets(cur, chunk_size) if query.bucketed else _cut_rows(cur, chunk_size)
    async for chunk in chunks:
        yield chunk


async def _joined_buckets(cur, chunk_size: int) -> AsyncIterator[MatchChunk]:
    """Buckets are joined while they fit in ``chunk_size``; a bigger one comes alone. The
    rows of one bucket (adjacent) always go into the same chunk."""
    chunk = MatchChunk()
    last = None
    while True:
        rows = await cur.fetch(_BUCKETS_PER_FETCH)
        for bucket, residents, places, kinds, devices, areas in rows:
            if bucket != last and chunk and len(chunk) + len(residents) > chunk_size:
                yield chunk
                chunk = MatchChunk()
            last = bucket
            chunk.add(residents, places, [_KIND[k] for k in kinds], devices, areas)
        if len(rows) < _BUCKETS_PER_FETCH:  # the cursor is exhausted
            if chunk:
                yield chunk
            return


async def _cut_rows(cur, chunk_size: int) -> AsyncIterator[list[MatchRow]]:
    """Rows in resident order, cut between residents: the last resident of a fetch is held
    back until the next fetch shows whether more of their rows follow."""
    carry: list = []
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


async def iter_matches(conn: AsyncConnection, alert_id: int, *, chunk_size: int = 5000) -> AsyncIterator[Sequence[Match]]:
    """All places matched by the alert, one ``Match`` (or ``MatchRow``) each, streamed in chunks of
    about ``chunk_size`` places in ascending ranges of resident ids, all places of one
    resident inside the same chunk (so the caller can aggregate per resident; inside a chunk
    there is no order). Expired current locations (expires_at <= now()) never match.

    Runs in ``conn``'s transaction (begun if none is open) and leaves it to the caller to
    end; sets ``work_mem``, ``jit`` and the query's own planner settings for that transaction
    (SET LOCAL). Close the iterator if you stop early (``contextlib.aclosing``) so the cursor goes.
    A missing alert, or one with no targetable area, yields nothing.
    """
    query = await match_query(conn, alert_id, chunk_size)
    if query is None:
        return
    async for chunk in stream_query(conn, query, chunk_size=chunk_size):
        yield chunk
