"""Outbox relay: committed ``alert_outbox`` rows → Redis Stream ``alerts:new``.

Lanes (``server.lanes``): every alert goes on ``alerts:new`` (the topic every consumer
group reads, and the alert lane's fan-out queue); a critical or bulk alert is also put,
first, on its lane's stream (``alerts:new:critical`` / ``alerts:new:bulk``), where the
delivery group's own readers take it ahead of everything else. Its ``alerts:new`` entry is
marked ``routed``: the delivery consumer that reaches the alert second (either stream)
finds the first one's claim and leaves it. The outbox row records the entry of the lane
that fans the alert out (``critical:<id>``, ``bulk:<id>``, or the bare ``alerts:new`` id),
so the catch-up looks for the entry that matters.

Called right after an ingest commits (latency) and by the scheduler (catch-up after a
crash or a Redis outage). Rows are claimed with FOR UPDATE SKIP LOCKED, so any number
of relays can run at once; a row is marked relayed only in the transaction that saw its
XADD succeed. If the commit fails after the XADD the entry is sent again next time —
consumers dedupe by ``alert_id``.
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
import structlog
from prometheus_client import Counter
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.events import outbox_repository as outbox_repo
from alerts.facts.lanes import lane_of_alert
from server import lanes
from server.lanes import ALERT
from server.streams import publish_many

log = structlog.get_logger()

ALERTS_STREAM = lanes.ALERTS_STREAM  # "alerts:new"

OUTBOX_RELAYED = Counter("bousai_alert_outbox_relayed_total", "Outbox rows moved to the alerts stream")
OUTBOX_RELAY_ERRORS = Counter("bousai_alert_outbox_relay_errors_total", "Relay attempts that failed", ["reason"])

# A healthy fan-out starts within seconds of the relay; give it this long before looking.
STALL_GRACE_SECONDS = 30.0


# Relay batches still running after their caller was cancelled (kept so they are not collected).
_IN_FLIGHT: set[asyncio.Task] = set()


def _finished(task: asyncio.Task) -> None:
    _IN_FLIGHT.discard(task)
    if not task.cancelled() and task.exception() is not None:  # seen by the caller unless it was cancelled
        log.debug("alerts.outbox.relay_batch_failed", error=repr(task.exception()))


def entry_ref(lane: str, entry_id: str) -> str:
    """What the outbox row records: the entry of the stream that fans the alert out."""
    return entry_id if lane == ALERT else f"{lane}:{entry_id}"


def parse_entry_ref(ref: str, stream: str = ALERTS_STREAM) -> tuple[str, str]:
    """(stream, entry id) of a recorded reference (a bare id is on ``stream``)."""
    lane, sep, entry = ref.partition(":")
    if sep and lane in lanes.PRIORITY and lane != ALERT:
        return lanes.stream_for(stream, lane, lanes_on=True), entry
    return stream, ref


async def _relay_batch(sessionmaker: async_sessionmaker[AsyncSession], redis: aioredis.Redis, batch: int, stream: str) -> list:
    lanes_on = lanes.enabled() and stream == ALERTS_STREAM
    async with sessionmaker() as session, session.begin():
        rows = await outbox_repo.claim(session, batch)
        if rows:
            plain: list[dict] = []
            routed_by_lane: dict[str, list[tuple[int, dict]]] = {}
            for i, r in enumerate(rows):
                lane = lane_of_alert(r.facts, msg_type=r.msg_type, category=r.category, is_drill=r.is_drill)
                routed = lanes_on and lane != ALERT
                fields = {
                    "alert_id": r.alert_id,
                    "event_id": r.event_id,
                    "outbox_id": r.id,
                    "source": r.source,
                    "category": r.category,
                    "msg_type": r.msg_type,
                    "lane": lane,
                    "routed": int(routed),
                }
                plain.append(fields)
                if routed:
                    routed_by_lane.setdefault(lane, []).append((i, fields))
            # Raising here rolls the claim back: the rows stay unrelayed for the next run.
            refs: dict[int, str] = {}
            for lane in lanes.LANES:  # the lanes' own streams first: critical's reader may start at once
                if lane in routed_by_lane:
                    batch_rows = routed_by_lane[lane]
                    ids = await publish_many(redis, lanes.stream_for(stream, lane, lanes_on=True), [f for _, f in batch_rows])
                    refs.update({i: entry_ref(lane, e) for (i, _), e in zip(batch_rows, ids, strict=True)})
            entry_ids = await publish_many(redis, stream, plain)
            for i, e in enumerate(entry_ids):
                refs.setdefault(i, e)
            await outbox_repo.mark_relayed(session, [r.id for r in rows], [refs[i] for i in range(len(rows))])
    return rows


async def relay_outbox(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    batch: int = 500,
    *,
    stream: str = ALERTS_STREAM,
) -> int:
    """Move unrelayed rows to the stream; returns how many were relayed. Never raises for Redis errors."""
    total = 0
    while True:
        try:
            # Shielded: a caller cancelled between the XADD and the commit would leave rows
            # on the stream yet unmarked, to be sent again. The batch finishes on its own.
            task = asyncio.ensure_future(_relay_batch(sessionmaker, redis, batch, stream))
            _IN_FLIGHT.add(task)
            task.add_done_callback(_finished)
            rows = await asyncio.shield(task)
        except (RedisError, OSError) as exc:
            OUTBOX_RELAY_ERRORS.labels(type(exc).__name__).inc()
            log.warning("alerts.outbox.relay_failed", error=str(exc), relayed=total)
            return total
        if not rows:
            return total
        total += len(rows)
        OUTBOX_RELAYED.inc(len(rows))
        log.info("alerts.outbox.relayed", count=len(rows))
        if len(rows) < batch:
            return total


async def rerelay_lost_entries(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    *,
    stream: str = ALERTS_STREAM,
    grace_seconds: float = STALL_GRACE_SECONDS,
) -> int:
    """Put back in the outbox every relayed alert whose stream entry Redis no longer has
    (a restart without persistence, a flushed or trimmed stream) and whose fan-out never
    finished. An entry still in the stream is left to the consumer group (pending entries
    of a dead worker are claimed by the others). Fan-out is idempotent, so a re-relay can
    never make anyone hear an alert twice. Returns how many rows were put back."""
    try:
        async with sessionmaker() as session, session.begin():
            rows = await outbox_repo.stalled(session, grace_seconds)
            lost = []
            for row in rows:
                ref = row.stream_entry_id
                if not ref:
                    lost.append(row.id)
                    continue
                where, entry = parse_entry_ref(ref, stream)
                if not await redis.xrange(where, min=entry, max=entry, count=1):
                    lost.append(row.id)
            if lost:
                await outbox_repo.unrelay(session, lost)
    except (RedisError, OSError) as exc:
        OUTBOX_RELAY_ERRORS.labels(type(exc).__name__).inc()
        log.warning("alerts.outbox.rerelay_check_failed", error=str(exc))
        return 0
    if lost:
        log.warning("alerts.outbox.stream_entries_lost", count=len(lost))
        await relay_outbox(sessionmaker, redis, stream=stream)
    return len(lost)
