"""PULL as backfill: documents the PULL feeds stored that the real-time socket had not delivered.

While the real-time source is on, both sources race for every JMA document; ingest keeps
whichever comes first. The poller's observer notes each alert PULL stored first (a
*candidate*); the socket marks every alert it delivers, new or duplicate. Once a candidate
is ``gap_grace_seconds`` old, the realtime process looks: not marked means the socket missed
it (or was down) — counted in ``bousai_feed_gap_total`` and in Redis, where
``bousai feeds status`` reads it. A silent socket thus shows up even while PULL keeps
residents served.

Kept free of the WebSocket client so the scheduler imports only this.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from typing import Any

import orjson
import redis.asyncio as aioredis
import structlog
from prometheus_client import Counter

from alerts.feeds.realtime_settings import RealtimeSettings
from server.settings import Settings

log = structlog.get_logger()

PREFIX = "bousai:realtime"
CANDIDATES = f"{PREFIX}:pull_candidates"  # zset: "alert_id|entry_id" → time PULL stored it
GAP_TOTAL = f"{PREFIX}:gap_total"
GAP_RECENT = f"{PREFIX}:gap_recent"  # newest first, a few kept for `feeds status`
GAP_RECENT_KEEP = 20
# Looked at per reconcile pass; the rest waits for the next pass.
RECONCILE_BATCH = 500

FEED_GAP = Counter(
    "bousai_feed_gap_total",
    "JMA documents PULL stored that the real-time socket had not delivered within the grace period",
)


def delivered_key(alert_id: int | str) -> str:
    return f"{PREFIX}:delivered:{alert_id}"


class PullGapObserver:
    """A ``FeedPoller`` observer noting the JMA alerts PULL stored first (sync; writes are
    fire-and-forget tasks, so the poller never waits on them)."""

    # entry → feed memory for the entries of a poll in flight; bounded.
    _SEEN_KEEP = 2000

    def __init__(self, redis: aioredis.Redis, jma_feeds: list[str]) -> None:
        self.redis = redis
        self.jma_feeds = set(jma_feeds)
        self._feed_of: OrderedDict[str, str] = OrderedDict()
        self._tasks: set[asyncio.Task] = set()

    def __call__(self, event: str, entry_id: str, at: float, detail: dict[str, Any]) -> None:
        if event == "feed_seen":
            self._feed_of[entry_id] = detail.get("feed", "")
            self._feed_of.move_to_end(entry_id)
            while len(self._feed_of) > self._SEEN_KEEP:
                self._feed_of.popitem(last=False)
        elif event == "stored":
            created = detail.get("alert_ids") or []
            # CAP feeds never come over the socket: only JMA's can be a gap.
            if created and self._feed_of.get(entry_id) in self.jma_feeds:
                now = time.time()
                mapping = {f"{alert_id}|{entry_id}": now for alert_id in created}
                task = asyncio.get_running_loop().create_task(self._note(mapping))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _note(self, mapping: dict[str, float]) -> None:
        try:
            await self.redis.zadd(CANDIDATES, mapping, nx=True)
        except Exception as exc:  # the gap figure is bookkeeping; never a reason to fail a poll
            log.warning("alerts.realtime.gap_note_failed", error=str(exc)[:200])


def pull_gap_observer(settings: Settings, redis: aioredis.Redis,
                      realtime: RealtimeSettings | None = None) -> PullGapObserver | None:
    """The observer for the scheduler's poller, or None when the real-time source is off."""
    from alerts.feeds.realtime_settings import get_realtime_settings

    realtime = realtime or get_realtime_settings()
    if not realtime.enabled:
        return None
    return PullGapObserver(redis, settings.jma_feeds)


async def mark_delivered(redis: aioredis.Redis, alert_ids: list[int], ttl_seconds: int) -> None:
    if not alert_ids:
        return
    pipe = redis.pipeline(transaction=False)
    for alert_id in alert_ids:
        pipe.set(delivered_key(alert_id), 1, ex=ttl_seconds)
    await pipe.execute()


async def reconcile_gaps(redis: aioredis.Redis, grace_seconds: float, *, now: float | None = None) -> int:
    """Judge the candidates older than the grace period; returns how many were gaps."""
    cutoff = (now if now is not None else time.time()) - grace_seconds
    members = await redis.zrangebyscore(CANDIDATES, "-inf", cutoff, start=0, num=RECONCILE_BATCH)
    if not members:
        return 0
    decoded = [m.decode() if isinstance(m, bytes) else m for m in members]
    pipe = redis.pipeline(transaction=False)
    for m in decoded:
        pipe.exists(delivered_key(m.split("|", 1)[0]))
    found = await pipe.execute()
    gaps = [m for m, hit in zip(decoded, found, strict=True) if not hit]
    pipe = redis.pipeline(transaction=True)
    for m in gaps:
        alert_id, entry_id = m.split("|", 1)
        pipe.lpush(GAP_RECENT, orjson.dumps({"alert_id": int(alert_id), "entry_id": entry_id,
                                             "judged_at": time.time()}))
    if gaps:
        pipe.incrby(GAP_TOTAL, len(gaps))
        pipe.ltrim(GAP_RECENT, 0, GAP_RECENT_KEEP - 1)
    pipe.zrem(CANDIDATES, *decoded)
    await pipe.execute()
    if gaps:
        FEED_GAP.inc(len(gaps))
        log.warning("alerts.realtime.gap", count=len(gaps), entries=[g.split("|", 1)[1] for g in gaps][:5])
    return len(gaps)


async def gap_status(redis: aioredis.Redis) -> dict[str, Any]:
    total, pending, recent = await asyncio.gather(
        redis.get(GAP_TOTAL), redis.zcard(CANDIDATES), redis.lrange(GAP_RECENT, 0, 4)
    )
    return {
        "gap_total": int(total or 0),
        "pending_checks": int(pending or 0),
        "recent_gaps": [orjson.loads(r) for r in recent],
    }
