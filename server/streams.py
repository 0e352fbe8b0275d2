"""Redis Streams helpers shared by the relay and the workers.

Delivery is at-least-once: a producer may add an entry twice (crash between XADD and
marking its outbox row), and a consumer that dies before XACK leaves the entry pending
until another consumer claims it (XAUTOCLAIM). Consumers therefore dedupe by a business
key carried in the entry (e.g. ``alert_id``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

import redis.asyncio as aioredis
import structlog
from redis.exceptions import ResponseError

log = structlog.get_logger()

# Approximate trim keeps XADD O(1); 100k entries is days of alerts, far past any consumer lag.
DEFAULT_MAXLEN = 100_000
# A consumer that has not acked in this long is presumed dead and its entries are claimed.
# An entry pending this long belongs to a dead consumer: a live one touches the entries it is
# working on every ``KEEPALIVE_SECONDS`` (``keep_claimed``), however long the work takes, so
# a killed worker's fan-out resumes elsewhere within ~10 s instead of a minute.
DEFAULT_CLAIM_IDLE_MS = 10_000
KEEPALIVE_SECONDS = 3.0

Fields = Mapping[str | bytes, str | bytes | int | float]


def _str(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v


async def publish(redis: aioredis.Redis, stream: str, fields: Fields, *, maxlen: int = DEFAULT_MAXLEN) -> str:
    entry_id = await redis.xadd(stream, dict(fields), maxlen=maxlen, approximate=True)
    return _str(entry_id)


async def publish_many(
    redis: aioredis.Redis, stream: str, entries: Iterable[Fields], *, maxlen: int = DEFAULT_MAXLEN
) -> list[str]:
    """XADD a batch in one round trip (pipeline without MULTI: partial success is fine, consumers dedupe)."""
    pipe = redis.pipeline(transaction=False)
    for fields in entries:
        pipe.xadd(stream, dict(fields), maxlen=maxlen, approximate=True)
    return [_str(x) for x in await pipe.execute()]


async def ensure_group(redis: aioredis.Redis, stream: str, group: str, *, start_id: str = "0") -> None:
    """Create the consumer group (and the stream) if missing; a no-op when it exists."""
    try:
        await redis.xgroup_create(stream, group, id=start_id, mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


@dataclass(frozen=True)
class StreamMessage:
    stream: str
    id: str
    fields: dict[str, str]


def _decode(stream: str, raw: list) -> list[StreamMessage]:
    out = []
    for entry_id, fields in raw:
        if fields is None:  # entry trimmed away while pending
            continue
        out.append(StreamMessage(stream, _str(entry_id), {_str(k): _str(v) for k, v in fields.items()}))
    return out


async def read_group(
    redis: aioredis.Redis, stream: str, group: str, consumer: str, *, count: int = 100, block_ms: int | None = 1000
) -> list[StreamMessage]:
    """New entries for this consumer (XREADGROUP … >)."""
    resp = await redis.xreadgroup(group, consumer, {stream: ">"}, count=count, block=block_ms)
    messages: list[StreamMessage] = []
    for name, entries in resp or []:
        messages.extend(_decode(_str(name), entries))
    return messages


async def keep_claimed(redis: aioredis.Redis, stream: str, group: str, consumer: str, entry_id: str) -> None:
    """Reset the idle time of an entry this consumer is still working on (XCLAIM to itself,
    JUSTID: no delivery count added), so no other consumer takes it over."""
    await redis.xclaim(stream, group, consumer, min_idle_time=0, message_ids=[entry_id], justid=True)


async def claim_stale(
    redis: aioredis.Redis,
    stream: str,
    group: str,
    consumer: str,
    *,
    min_idle_ms: int = DEFAULT_CLAIM_IDLE_MS,
    count: int = 100,
) -> list[StreamMessage]:
    """Take over entries another consumer read but never acked (XAUTOCLAIM), walking the whole PEL."""
    claimed: list[StreamMessage] = []
    cursor = "0-0"
    while True:
        resp = await redis.xautoclaim(stream, group, consumer, min_idle_time=min_idle_ms, start_id=cursor, count=count)
        cursor, entries = _str(resp[0]), resp[1]
        claimed.extend(_decode(stream, entries))
        if cursor == "0-0" or len(claimed) >= count:
            return claimed


async def ack(redis: aioredis.Redis, stream: str, group: str, *ids: str) -> int:
    if not ids:
        return 0
    return int(await redis.xack(stream, group, *ids))


Handler = Callable[[StreamMessage], Awaitable[None]]


async def consume(
    redis: aioredis.Redis,
    stream: str,
    group: str,
    consumer: str,
    handler: Handler,
    *,
    stop: asyncio.Event,
    count: int = 100,
    block_ms: int = 1000,
    claim_idle_ms: int = DEFAULT_CLAIM_IDLE_MS,
) -> None:
    """Worker loop: claim stale entries, read new ones, ack each one its handler finished.

    A handler that raises leaves its entry pending; it is retried after ``claim_idle_ms``
    by whichever consumer claims it. Handlers must be idempotent.
    """
    await ensure_group(redis, stream, group)
    while not stop.is_set():
        messages = await claim_stale(redis, stream, group, consumer, min_idle_ms=claim_idle_ms, count=count)
        if not messages:
            messages = await read_group(redis, stream, group, consumer, count=count, block_ms=block_ms)
        for msg in messages:
            try:
                await handler(msg)
            except Exception:
                log.exception("server.streams.handler_failed", stream=stream, group=group, entry_id=msg.id)
                continue
            await ack(redis, stream, group, msg.id)
