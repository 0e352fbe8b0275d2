"""Priority lanes: life-critical work first, through fan-out and push.

Every fan-out and every push belongs to one lane:

- ``critical``: an alert whose event's facts (``alerts.facts``) say some area is
  ``life_critical`` and in force (EEW 警報, 大津波/津波警報, 特別警報, 緊急安全確保,
  避難指示, 噴火警報（居住地域）/噴火速報, J-ALERT) — the one definition, read, never redone;
- ``alert``: every other hazard notification, corrections of them that leave nothing
  life-critical, lowerings, all-clears and cancellations;
- ``bulk``: everything that is not a hazard: family statuses, safety prompts and
  reminders, shelter-opening notices, knowledge, plan reviews (every ``notifications`` row).

Each lane has its own streams. The ``alert`` lane keeps the historical names
(``alerts:new``, ``push:jobs``) — ``alerts:new`` is also the topic other consumer groups
read and the one every alert is written to —, the others add ``:critical`` / ``:bulk``.
Workers read the critical streams with readers of their own (capacity nobody else can
hold) and the other lanes in priority order, bulk first once in ``bulk_share_every``
reads so it never starves (``server.worker``). While critical work waits or runs
anywhere (:class:`CriticalGate`: lag + pending of the critical streams' groups), the
other lanes' fan-outs pause before their next chunk and their pushes before taking
provider tokens: the database, the CPU and the shared provider quota go to critical work.

``BOUSAI_LANES_ENABLED=0`` is the old single-lane, first-in-first-out order (every
fan-out on ``alerts:new``, every push on ``push:jobs``, no gate): the baseline of
``bousai bench burst``.
"""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis
from pydantic_settings import SettingsConfigDict

from server.settings import Section, SectionGetter
from redis.exceptions import RedisError

CRITICAL, ALERT, BULK = "critical", "alert", "bulk"
LANES = (CRITICAL, ALERT, BULK)
PRIORITY = {CRITICAL: 0, ALERT: 1, BULK: 2}

ALERTS_STREAM = "alerts:new"
PUSH_STREAM = "push:jobs"
DELIVERY_GROUP = "delivery"
PUSH_GROUP = "push-senders"


class LaneSettings(Section):
    model_config = SettingsConfigDict(
        env_prefix="BOUSAI_LANES_", env_file=".env", extra="ignore"
    )

    # Off: the single first-in-first-out lane of before (a switch for the burst bench's baseline).
    enabled: bool = True
    # Bulk is read first once in this many reads when nothing critical waits: ~10 % of the
    # non-critical capacity, so family statuses and safety prompts never starve behind a
    # prefecture-wide warning that takes minutes.
    bulk_share_every: int = 10
    # Longest a non-critical fan-out chunk or push batch waits for critical work to clear:
    # bounded so a stuck critical entry (a killed worker's, until it is claimed) cannot hold
    # everything else for long; well under the 60 s after which a pending entry is claimed.
    yield_max_seconds: float = 20.0
    # How long one look at the critical streams is trusted (each check is one round trip).
    gate_cache_seconds: float = 0.05


lane_settings = SectionGetter(LaneSettings)


def enabled() -> bool:
    return lane_settings().enabled


def stream_for(base: str, lane: str, *, lanes_on: bool | None = None) -> str:
    """The stream of ``lane`` for the stream family ``base`` (``alerts:new`` / ``push:jobs``)."""
    if lanes_on is None:
        lanes_on = enabled()
    if not lanes_on or lane == ALERT or lane not in PRIORITY:
        return base
    return f"{base}:{lane}"


def lane_streams(base: str) -> list[tuple[str, str]]:
    """(lane, stream) of every lane of a family, in priority order."""
    return [(lane, stream_for(base, lane, lanes_on=True)) for lane in LANES]


class CriticalGate:
    """Is critical work waiting or running anywhere? (the critical streams' lag + pending).

    Shared by every worker through Redis itself: a worker fanning out a heavy-rain warning
    yields when another worker has an EEW to send. Cached for ``gate_cache_seconds``."""

    def __init__(self, redis: aioredis.Redis, settings: LaneSettings | None = None):
        self.redis = redis
        self.settings = settings or lane_settings()
        self._checked = 0.0
        self._busy = False
        self.streams = (
            (stream_for(ALERTS_STREAM, CRITICAL, lanes_on=True), DELIVERY_GROUP),
            (stream_for(PUSH_STREAM, CRITICAL, lanes_on=True), PUSH_GROUP),
        )

    async def _look(self) -> bool:
        pipe = self.redis.pipeline(transaction=False)
        for stream, _group in self.streams:
            pipe.xinfo_groups(stream)
        try:
            answers = await pipe.execute(raise_on_error=False)
        except (RedisError, OSError):
            return False  # no Redis, no critical work to wait for: never stall the others on it
        for (_stream, group), groups in zip(self.streams, answers, strict=True):
            if isinstance(groups, Exception):
                continue  # no such stream yet
            for g in groups:
                name = g.get("name")
                name = name.decode() if isinstance(name, bytes) else name
                if name != group:
                    continue
                if int(g.get("pending") or 0) > 0 or int(g.get("lag") or 0) > 0:
                    return True
        return False

    async def busy(self) -> bool:
        if not self.settings.enabled:
            return False
        now = time.monotonic()
        if now - self._checked >= self.settings.gate_cache_seconds:
            self._busy = await self._look()
            self._checked = time.monotonic()
        return self._busy

    async def wait_clear(self, max_seconds: float | None = None) -> float:
        """Wait while critical work is pending (bounded); returns the seconds waited."""
        limit = self.settings.yield_max_seconds if max_seconds is None else max_seconds
        started = time.monotonic()
        while await self.busy():
            waited = time.monotonic() - started
            if waited >= limit:
                return waited
            await asyncio.sleep(self.settings.gate_cache_seconds)
        return time.monotonic() - started


_GATES: dict[int, CriticalGate] = {}


def gate_for(redis: aioredis.Redis) -> CriticalGate:
    """One gate per Redis client (so one process's chunks and batches share one cached look)."""
    gate = _GATES.get(id(redis))
    if gate is None or gate.redis is not redis:
        gate = _GATES[id(redis)] = CriticalGate(redis)
    return gate
