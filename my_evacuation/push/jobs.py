"""The push job pipeline between fan-out and providers.

``push_messages`` rows (Postgres) are the jobs; a ``push:jobs`` stream entry only names a
batch of row ids (≤ 500, the FCM/APNs batch size) so a worker wakes up. Sending a job:

1. lock the rows still ``queued`` (``FOR UPDATE SKIP LOCKED``): a job delivered twice,
   or a catch-up re-publish of a row another worker is sending, finds nothing to do;
2. send them with the provider under the shared rate limit, retrying by error class;
3. record each result in the same transaction, clear exactly the dead tokens in
   ``devices``, and commit before the stream entry is acked.

A worker killed during step 2 rolls its transaction back, so its rows are queued again
and another worker sends them (a provider may then see a message twice: both copies carry
the same collapse key, so the phone shows it once). A row whose job was lost with
Redis stays ``queued`` and ``catch_up`` re-publishes it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import redis.asyncio as aioredis
import structlog
from prometheus_client import Counter, Histogram
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from my_evacuation.push import repository as push_repo
from my_evacuation.residents import repository as residents_repo
from server import lanes
from server.lanes import ALERT, CRITICAL, PUSH_GROUP, PUSH_STREAM
from server.streams import publish_many

log = structlog.get_logger()
# FCM and APNs both take 500 messages per multicast; larger jobs only delay the first push.
JOB_SIZE = 500
# Jobs that keep failing with retryable errors give up after this many jobs (each job
# already retries with backoff inside the provider call).
MAX_JOB_ATTEMPTS = 5

PUSH_RESULTS = Counter("bousai_push_results_total", "Push messages by final status of a send", ["status"])
DEAD_TOKENS = Counter("bousai_push_dead_tokens_total", "Device tokens cleared because the provider said they are dead")
# From the moment the service received the alert's document to the provider accepting the
# push, per lane (jobs re-published by the catch-up carry no receipt time and are not counted).
RECEIPT_TO_ACCEPTED = Histogram(
    "bousai_push_receipt_to_accepted_seconds", "Alert document received → push accepted by the provider", ["lane"],
    buckets=(0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 120, 300, 600),
)
LANE_YIELD = Counter("bousai_lane_yield_seconds_total", "Seconds non-critical work waited for critical work", ["lane", "stage"])


def job_fields(ids: Sequence[int], lane: str = ALERT, meta: Mapping[str, Any] | None = None) -> dict[str, str]:
    fields = {"ids": ",".join(str(i) for i in ids), "lane": lane}
    for k, v in (meta or {}).items():
        if v is not None:
            fields[k] = str(v)
    return fields


def lane_of_job(fields: Mapping[str, str]) -> str:
    lane = fields.get("lane") or ALERT
    return lane if lane in lanes.PRIORITY else ALERT


def parse_job(fields: dict[str, str]) -> list[int]:
    raw = fields.get("ids", "")
    return [int(x) for x in raw.split(",") if x.strip().isdigit()]


def chunked(ids: Sequence[int], size: int = JOB_SIZE) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


async def publish_push_jobs(
    redis: aioredis.Redis,
    ids: Sequence[int],
    *,
    lane: str = ALERT,
    stream: str | None = None,
    meta: Mapping[str, Any] | None = None,
) -> int:
    """Publish jobs for these push message ids on their lane's stream; never raises for
    Redis (the catch-up covers it). ``meta`` (``alert_id``, ``received``: epoch seconds of
    the document's receipt) rides along for the latency figures."""
    if not ids:
        return 0
    stream = stream or lanes.stream_for(PUSH_STREAM, lane)
    try:
        await publish_many(redis, stream, [job_fields(c, lane, meta) for c in chunked(list(ids))])
    except (RedisError, OSError) as exc:
        log.warning("my_evacuation.push.jobs.publish_failed", error=str(exc), count=len(ids))
        return 0
    return len(ids)


# ---------------------------------------------------------------------------------------
# Sending
# ---------------------------------------------------------------------------------------






@dataclass
class JobOutcome:
    claimed: int = 0
    ok: int = 0
    dead_token: int = 0
    permanent: int = 0
    requeued: int = 0
    failed: int = 0
    no_token: int = 0
    superseded: int = 0


# A critical message must reach a phone in minutes or not matter; normal ones keep a day.
CRITICAL_TTL_SECONDS = 600
NORMAL_TTL_SECONDS = 86_400


def message_for(row: Any, *, urgent: bool = False) -> Any | None:
    """The provider message for a claimed row, or None when the device has no push address.
    ``urgent``: the critical lane's (overtakes ordinary messages waiting for a connection)."""
    from my_evacuation.push.providers.base import PushMessage
    from my_evacuation.push.providers.registry import token_type_for

    token = row.push_token
    if row.push_kind == "webpush" and row.webpush_subscription:
        token = orjson.dumps(row.webpush_subscription).decode()
    if not token or not row.push_kind:
        return None
    data = {str(k): str(v) for k, v in (row.data or {}).items()}
    return PushMessage(
        message_id=row.message_id,
        device_id=str(row.device_id),
        token=token,
        title=row.title,
        body=row.body,
        kind=str(data.get("kind") or "alert"),
        data=data,
        critical=row.critical,
        urgent=urgent,
        collapse_key=_collapse_key(row.message_id, data),
        ttl_seconds=CRITICAL_TTL_SECONDS if row.critical else NORMAL_TTL_SECONDS,
        token_type=token_type_for(row.push_kind),
    )


class LaneLimiter:
    """The provider's shared token bucket, seen from one lane.

    Critical pushes take tokens as before. Any other lane first waits while critical work
    is waiting or running anywhere (``server.lanes.CriticalGate``), so the quota (and the
    CPU, and the connections) is theirs; and it never reserves tokens far ahead (the
    bucket serves reservations in order, so a bulk batch that booked the next seconds
    would make a later EEW wait behind it)."""

    # A non-critical batch books at most this far into the future, then asks again.
    NON_CRITICAL_MAX_DEBT_S = 0.1

    def __init__(self, bucket: Any, lane: str, gate: Any | None):
        self.bucket = bucket
        self.lane = lane
        self.gate = gate
        self.short = None
        if bucket is not None and lane != CRITICAL and hasattr(bucket, "max_wait_ms"):
            import copy

            self.short = copy.copy(bucket)  # the same Redis bucket, booked at most a moment ahead
            self.short.max_wait_ms = int(self.NON_CRITICAL_MAX_DEBT_S * 1000)

    async def _yield(self) -> float:
        if self.lane == CRITICAL or self.gate is None:
            return 0.0
        waited = await self.gate.wait_clear()
        if waited:
            LANE_YIELD.labels(self.lane, "push").inc(waited)
        return waited

    async def acquire(self, n: int) -> float:
        import asyncio

        waited = await self._yield()
        if self.bucket is None:
            return waited
        if self.short is None:
            return waited + await self.bucket.acquire(n)
        while True:
            granted, wait = await self.short.try_acquire(n)
            if granted:
                if wait > 0:
                    await asyncio.sleep(wait)
                return waited + wait
            # Refused untaken: the bucket is booked ahead; come back when it is not, and let
            # critical work that arrived meanwhile go first.
            pause = min(max(wait - self.NON_CRITICAL_MAX_DEBT_S, 0.02), 1.0)
            await asyncio.sleep(pause)
            waited += pause + await self._yield()


class _GaveWay(Exception):
    """A non-critical job claimed its rows just as critical work arrived: give them back."""


class PushSender:
    """Sends push jobs with the providers of ``my_evacuation.push.providers.registry``; one per worker."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], providers: Any, redis: aioredis.Redis | None = None):
        self.sessionmaker = sessionmaker
        self.providers = providers
        self.redis = redis
        self.gate = lanes.gate_for(redis) if redis is not None else None

    async def aclose(self) -> None:
        await self.providers.aclose()

    async def _send(self, messages_by_kind: dict[str, list[Any]], lane: str = ALERT) -> list[Any]:
        from my_evacuation.push.providers.retry import send_with_retries

        groups: dict[int, tuple[Any, list[Any]]] = {}
        for kind, msgs in messages_by_kind.items():
            provider = self.providers.for_kind(kind)
            groups.setdefault(id(provider), (provider, []))[1].extend(msgs)
        results: list[Any] = []
        for provider, msgs in groups.values():
            bucket = self.providers.limiter_for(provider)
            limiter = LaneLimiter(bucket, lane, self.gate) if (bucket is not None or lane != CRITICAL) else None
            for batch in chunked(msgs):
                outcome = await send_with_retries(provider, list(batch), limiter=limiter, redis=self.redis)
                results.extend(outcome.results)
        return results

    async def send_job(self, ids: Sequence[int], *, lane: str = ALERT, received: float | None = None) -> JobOutcome:
        """Send one job. ``lane`` decides whether it yields to critical work; ``received``
        (epoch seconds the alert's document was received) feeds the latency histogram.

        A non-critical job waits for critical work to clear *before* it claims its rows, and
        gives them back (its transaction rolls back: nothing was sent yet) if critical work
        arrived while it was claiming: a paused bulk or alert job holds no rows, no
        transaction and no database connection while an EEW fans out."""
        if not ids:
            return JobOutcome()
        if lane == CRITICAL or self.gate is None:
            return await self._send_job(ids, lane, received, give_way=False)
        limit = lanes.lane_settings().yield_max_seconds
        while True:
            waited = await self.gate.wait_clear()
            if waited:
                LANE_YIELD.labels(lane, "push").inc(waited)
            try:
                # After a bounded wait that ran out (a stuck critical entry), send anyway.
                return await self._send_job(ids, lane, received, give_way=waited < limit)
            except _GaveWay:
                continue

    async def _send_job(self, ids: Sequence[int], lane: str, received: float | None, *, give_way: bool) -> JobOutcome:
        out = JobOutcome()
        statuses: dict[int, tuple[str, str | None]] = {}
        async with self.sessionmaker() as session, session.begin():
            rows = await push_repo.claim_queued(session, ids)
            out.claimed = len(rows)
            if not rows:
                return out
            by_message: dict[str, push_repo.Claimed] = {}
            by_kind: dict[str, list[Any]] = {}
            for row in rows:
                if row.superseded:
                    statuses[row.id] = ("superseded", None)
                    continue
                msg = message_for(row, urgent=lane == CRITICAL)
                if msg is None or row.push_kind is None:  # (a message is made only for a push address)
                    statuses[row.id] = ("no_token", None)
                    continue
                by_message[row.message_id] = row
                by_kind.setdefault(row.push_kind, []).append(msg)
            if give_way and by_kind and self.gate is not None and await self.gate.busy():
                raise _GaveWay  # rolls the claim back: the rows are queued again, untouched
            results = await self._send(by_kind, lane) if by_kind else []
            dead_devices: list[int] = []
            dead_tokens: list[str | None] = []
            sent_notifications: set[int] = set()
            for res in results:
                sent = by_message.get(res.message_id)
                if sent is None:
                    continue
                status = str(res.status)
                if status == "retry":
                    status = "failed" if sent.attempts + 1 >= MAX_JOB_ATTEMPTS else "queued"
                elif status == "dead_token":
                    dead_devices.append(sent.device_id)
                    dead_tokens.append(sent.push_token)
                elif status == "ok" and sent.notification_id:
                    sent_notifications.add(sent.notification_id)
                statuses[sent.id] = (status, res.error_code)
            # A message the provider never answered for is retried by a later job.
            for row in by_message.values():
                statuses.setdefault(row.id, ("queued", "no_result"))
            ids_out = list(statuses)
            await push_repo.record_results(
                session, ids_out, [statuses[i][0] for i in ids_out], [statuses[i][1] for i in ids_out]
            )
            if dead_devices:
                await residents_repo.clear_dead_push_tokens(session, dead_devices, dead_tokens)
                DEAD_TOKENS.inc(len(dead_devices))
                for dev in dead_devices:
                    log.info("my_evacuation.push.providers.token_unregistered", device_id=dev)
            if sent_notifications:
                await push_repo.mark_notifications_sent(session, list(sent_notifications))
        for status, _code in statuses.values():
            PUSH_RESULTS.labels(status).inc()
            if status == "queued":
                out.requeued += 1
            else:
                setattr(out, status, getattr(out, status) + 1)
        if received is not None and out.ok:
            # The commit is after the provider's answers: this is an upper bound, per message.
            seconds = max(time.time() - received, 0.0)
            hist = RECEIPT_TO_ACCEPTED.labels(lane)
            for _ in range(out.ok):
                hist.observe(seconds)
        return out


# ---------------------------------------------------------------------------------------
# Catch-up
# ---------------------------------------------------------------------------------------



async def catch_up(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    *,
    stale_seconds: float,  # Settings.push_stale_seconds
    batch: int = 10 * JOB_SIZE,
) -> int:
    """Re-publish queued rows whose job is presumed lost; returns how many."""
    total = 0
    while True:
        async with sessionmaker() as session, session.begin():
            rows = await push_repo.republish_stale(session, stale_seconds, batch)
        if not rows:
            return total
        ids = sorted(r[0] for r in rows)
        by_lane: dict[str, list[int]] = {}
        for r in rows:
            # The lane rides in the row's data (written by whoever queued it); none → alert.
            by_lane.setdefault(r[1] if r[1] in lanes.PRIORITY else ALERT, []).append(r[0])
        for lane in lanes.LANES:
            if lane in by_lane:
                total += await publish_push_jobs(redis, sorted(by_lane[lane]), lane=lane)
        log.info("my_evacuation.push.jobs.republished", count=len(ids))
        if len(ids) < batch:
            return total


# ---------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------


def _collapse_key(message_id: str, data: dict[str, str]) -> str:
    """What the phone collapses on. An alert's pushes collapse per event: a newer message
    about the same event replaces the older one, and a resend after a crash replaces the
    first copy instead of adding one — and every device of a fan-out shares the key, so the
    provider encodes one body per variant. Other notifications collapse only on their own id."""
    if data.get("event_id") and "notification_id" not in data:
        return f"alert-e{data['event_id']}"
    return message_id


async def build_sender(settings, sessionmaker: async_sessionmaker[AsyncSession], redis: aioredis.Redis) -> PushSender:
    """The worker's sender: providers chosen by settings, each behind its shared token bucket."""
    from my_evacuation.push.providers.registry import build_providers

    providers = build_providers(settings, sessionmaker=sessionmaker, redis=redis, ca_file=settings.push_ca_file)
    return PushSender(sessionmaker, providers, redis)
