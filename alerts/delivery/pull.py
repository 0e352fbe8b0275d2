"""The pull that is the truth: every alert in force for a resident's places, with its
current state, whether or not a push told them about it.

A push can be muted by the resident's preferences, held by quiet hours, lost by a
provider, or predate a place the resident registered afterwards; the app's list must not
depend on any of that. So the list is computed, not replayed:

1. the events in force now (state ``active`` / ``updated`` and ``in_force_until`` ahead: the
   latest alert's expiry, or ``NO_EXPIRY_IN_FORCE`` after the event's last issue for alerts
   without one, earthquake information and EEW; ``alerts.events.service.in_force_until``),
   matched against the resident's own places by the fan-out's own rules
   (``alerts.targeting.service.resident_matches``) and ranked by the same ranker (danger
   now, and whether their preferences mute it);
2. every event the resident has a ``deliveries`` row for (what they were told, held or
   cleared), while it is in force or for ``ENDED_VISIBLE`` after it ended, so an app opened
   the morning after still shows the all-clear. Only those rows are read: a resident told of
   a hundred events a year does not drag every one of them through each pull.

The cursor (``?since=``) carries a time and a fingerprint of the list's membership (the
resident's places, preferences and the set of events listed). When the membership is
unchanged, a pull with the cursor returns only the items that changed since (possibly
none, ``complete: false``); when it changed (a place added or moved, an event newly in
force or gone), the whole list comes back with ``complete: true`` and the app replaces
its own. The time is the start of the oldest transaction still open when the list was
read (not "now"): a fan-out chunk that committed after the read but began before it is
not skipped by the next pull; at worst an item comes twice, never not at all. (That
horizon is read from pg_stat_activity before the rows, and the fast path's pulls share one
read for up to a second: ``read_horizon``.)
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.delivery import pull_repository as pull_repo
from alerts.delivery.compose import pull_title
from alerts.delivery.preferences import load_preferences
from alerts.delivery.rank import AlertRanker, most_specific, needs_city
from alerts.delivery.schemas import DeliveryState, MyAlert, MyAlerts, NowState
from alerts.delivery.transitions import TOLD, expose
from alerts.events import repository as events_repo
from alerts.targeting.service import resident_matches, resident_places, targets_of
from alerts.facts import GroupFacts
from server import readcache
from server.db import driver_in_transaction
from server.errors import AppError

ENDED_VISIBLE = timedelta(hours=24)
# The cursor's time never lags "now" by more than this, whatever transaction stays open.
HORIZON_MAX_LAG = timedelta(minutes=10)
CURSOR_VERSION = "2"


class BadCursor(AppError):
    status_code = 400
    code = "bad_cursor"


@dataclass(frozen=True, slots=True)
class Cursor:
    at: datetime
    fingerprint: str


def encode_cursor(c: Cursor) -> str:
    micros = int(c.at.timestamp() * 1_000_000)
    return base64.urlsafe_b64encode(f"{CURSOR_VERSION}:{micros}:{c.fingerprint}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, micros, fingerprint = raw.split(":")
        if version != CURSOR_VERSION or not fingerprint.isalnum():
            raise ValueError(version)
        return Cursor(datetime.fromtimestamp(int(micros) / 1_000_000, UTC), fingerprint)
    except (ValueError, UnicodeDecodeError, OverflowError, OSError) as exc:
        raise BadCursor("since is not a cursor returned by this endpoint: pull without it") from exc


# The read horizon is the same for every pull in the database: on the fast path (many pulls
# a second during a surge) it is read at most this often per pool. A horizon read before the
# list's rows are read is safe however early (a transaction whose writes the list cannot see
# is open when the rows are read: it was open at the earlier read too, or began after it),
# so reusing one can list an item twice, never skip one. It must not be read *after* the
# rows (a writer that commits in between would drop out of it): the pull reads it first.
HORIZON_REUSE = timedelta(seconds=1)


class SharedHorizon:
    """The last horizon read for one database's pulls: (read at, horizon), the database's clock."""

    __slots__ = ("read",)

    def __init__(self) -> None:
        self.read: tuple[datetime, datetime] | None = None


async def read_horizon(raw: Any, now: datetime, shared: SharedHorizon | None = None) -> datetime:
    """The cursor's time for a list whose rows are read from ``now`` on (the database's clock):
    the start of the oldest transaction still open (``now`` when none is) at a read of
    pg_stat_activity made now, or, with ``shared``, one made no later than ``now`` and at
    most ``HORIZON_REUSE`` before it; never more than ``HORIZON_MAX_LAG`` before ``now``.
    Call it before reading the rows."""
    read = shared.read if shared is not None else None
    if read is None or not (now - HORIZON_REUSE <= read[0] <= now):
        row = await pull_repo.horizon(raw)
        read = (row["at"], row["horizon"])
        if shared is not None:
            shared.read = read
    return max(now - HORIZON_MAX_LAG, min(read[1], now))


# Parsed documents and facts, and the events in force, per api process (server.readcache).
SHARED = readcache.ReadCache(events_repo.NAMESPACE, max_entries=4096)


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value


# The events in force (the newest document of each of their products) are the same for
# everyone: read once per ``alerts`` generation and filtered by time and drills here (an
# event only ever leaves "in force" by time without a write).
async def _in_force(raw: Any, gen: int | None, now: datetime, drills: bool) -> list[Any]:
    rows = SHARED.get("in_force", gen)
    if rows is None:
        rows = await events_repo.in_force_products_raw(raw)
        SHARED.put("in_force", gen, rows)
    return [r for r in rows if r["in_force_until"] > now and (drills or not r["is_drill"])]


async def _documents(
    raw: Any, gen: int | None, alert_ids: list[int], events: list[tuple[int, datetime]]
) -> tuple[dict[int, dict], dict[int, GroupFacts | None]]:
    """Parsed payloads by alert id and facts by event id (as of the event's ``updated_at``
    read with the items, or newer), cached."""
    payloads: dict[int, dict] = {}
    missing = []
    for a in alert_ids:
        found = SHARED.get(("payload", a), gen)
        if found is None:
            missing.append(a)
        else:
            payloads[a] = found
    if missing:
        for r in await events_repo.payloads_raw(raw, missing):
            payloads[r["id"]] = _json(r["payload"]) or {}
            SHARED.put(("payload", r["id"]), gen, payloads[r["id"]])
    facts: dict[int, GroupFacts | None] = {}
    want = []
    for event_id, updated_at in events:
        cached = SHARED.get(("facts", event_id, updated_at), gen)
        if cached is None:
            want.append(event_id)
        else:
            facts[event_id] = cached[0]
    if want:
        for r in await events_repo.facts_raw(raw, want):
            f = _json(r["facts"])
            facts[r["id"]] = GroupFacts.from_json(f) if f else None
            SHARED.put(("facts", r["id"], r["updated_at"]), gen, (facts[r["id"]],))
    return payloads, facts


def _order(item: MyAlert) -> tuple:
    return (not item.in_force, -item.now.rank, -item.issued_at.timestamp(), -item.event_id)


async def my_alerts(session: AsyncSession, resident_id: int, since: str | None, *, device_id: int | None = None) -> MyAlerts:
    """The resident's list, read in ``session`` (the shared answers uncached when this
    transaction changed alerts itself)."""
    prev = decode_cursor(since) if since else None
    gen = None if readcache.touched(session, events_repo.NAMESPACE) else await readcache.generation(events_repo.NAMESPACE)
    # In the session's transaction: what it wrote before, it reads.
    raw = await driver_in_transaction(await session.connection())
    start = await pull_repo.start(raw, resident_id, device_id)
    return await _my_alerts(raw, gen, resident_id, prev, start)


async def my_alerts_by_token(raw: Any, token_hash: bytes, since: str | None, *, horizon: SharedHorizon | None = None
) -> MyAlerts | None:
    """The list of the device holding this token, on a driver (asyncpg) connection of its own,
    outside any ORM session (the GET fast path, ``alerts.delivery.api``): the device is found
    by the list's first statement; ``horizon`` is shared by the pulls of one database
    (``read_horizon``). None when no device holds the token; BadCursor as above."""
    prev = decode_cursor(since) if since else None
    gen = await readcache.generation(events_repo.NAMESPACE)
    start = await pull_repo.start_by_token(raw, token_hash)
    if start is None:
        return None
    return await _my_alerts(raw, gen, start["resident_id"], prev, start, horizon)


async def _my_alerts(
    raw: Any, gen: int | None, resident_id: int, prev: Cursor | None, start: Any, shared: SharedHorizon | None = None
) -> MyAlerts:
    now: datetime = start["now"]
    prefs = load_preferences(_json(start["preferences"]))
    language = start["language"] or "ja"
    horizon = await read_horizon(raw, now, shared)  # before any of the list's rows
    in_force = await _in_force(raw, gen, now, prefs.drills)
    places = await resident_places(raw, resident_id)
    matches = await resident_matches(raw, resident_id, await targets_of(raw, in_force), places)
    event_of = {r["id"]: r["event_id"] for r in in_force}
    by_event: dict[int, list] = {}
    for alert_id, ms in matches.items():
        seen = by_event.setdefault(event_of[alert_id], [])
        seen.extend(m for m in ms if m not in seen)
    rows = await pull_repo.items(raw, resident_id, list(by_event), now - ENDED_VISIBLE)
    # A document's payload is read only for events that reach the resident's places now.
    payloads, all_facts = await _documents(
        raw, gen,
        [r["alert_id"] for r in rows if r["event_id"] in by_event],
        [(r["event_id"], r["event_updated_at"]) for r in rows],
    )

    items: list[tuple[MyAlert, datetime]] = []
    for r in rows:
        active = r["state"] in ("active", "updated") and r["in_force_until"] > now
        now_state = NowState()
        facts = all_facts.get(r["event_id"])
        payload = payloads.get(r["alert_id"]) if r["event_id"] in by_event else None
        if active and payload is not None:
            # The danger now, by the same facts the fan-out reads (the pull never re-reads one document).
            ranker = AlertRanker(payload, facts, now=now, issued_at=r["issued_at"])
            mine = by_event[r["event_id"]]
            if needs_city(ranker.facts):
                mine = most_specific(ranker.facts, mine, {p["id"]: p.get("jma_city_code") for p in places})
            ex = expose(ranker, prefs, mine)
            now_state = NowState(
                rank=ex.raw_rank,
                level=ex.level,
                place_ids=ex.place_ids,
                current_location=bool(ex.current_devices),
                life_critical=ex.life_critical,
                muted=ex.raw_rank > 0 and ex.notify_rank == 0,
            )
        delivery = None
        if r["status"] is not None:
            delivery = DeliveryState(
                status=r["status"], rank=r["rank"], max_rank=r["max_rank"], held_by_quiet_hours=r["held_by_quiet_hours"],
                critical=r["critical"], current_location=r["current_location"], place_ids=list(r["place_ids"] or []),
                told_at=r["told_at"], cleared_at=r["cleared_at"], updated_at=r["delivery_updated_at"],
            )
        changed_at = max(t for t in (r["event_updated_at"], r["delivery_updated_at"]) if t is not None)
        if not active and r["state"] in ("active", "updated"):
            changed_at = max(changed_at, r["in_force_until"])  # it ran out: that is a change too
        if active:
            shown = now_state.rank > 0 or (delivery is not None and (delivery.status in (*TOLD, "held") or changed_at > now - ENDED_VISIBLE))
        else:
            shown = delivery is not None and changed_at > now - ENDED_VISIBLE
        if not shown:
            continue
        items.append(
            (
                MyAlert(
                    alert_id=r["alert_id"], event_id=r["event_id"],
                    event_state=r["state"] if active or r["state"] not in ("active", "updated") else "expired",
                    in_force=active, category=r["category"], msg_type=r["msg_type"],
                    title=pull_title(language, r["category"], now_state.rank or (delivery.max_rank if delivery else 0),
                                     headline=r["headline"], facts=facts),
                    headline=r["headline"], headline_language="ja" if r["source"] == "jma" else None,
                    severity=r["severity"], issued_at=r["issued_at"], expires_at=r["expires_at"], is_drill=r["is_drill"],
                    now=now_state, delivery=delivery,
                ),
                changed_at,
            )
        )
    items.sort(key=lambda pair: _order(pair[0]))
    membership = "|".join(
        [",".join(f"{p['id']}:{p['updated_at'].isoformat()}:{p['live']}" for p in places), orjson.dumps(prefs.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS).decode()]
        + [str(item.event_id) for item, _ in sorted(items, key=lambda pair: pair[0].event_id)]
    )
    cursor = Cursor(horizon, hashlib.sha256(membership.encode()).hexdigest()[:24])
    complete = prev is None or prev.fingerprint != cursor.fingerprint
    shown_items = [item for item, changed_at in items if complete or changed_at >= prev.at]
    return MyAlerts(alerts=shown_items, cursor=encode_cursor(cursor), complete=complete)
