"""The scheduler process: APScheduler jobs, run only by the holder of a Redis lease.

One scheduler runs jobs at a time. Any number may be started (a standby, a second
`bousai run`): each tries ``SET lock token NX PX ttl``; the holder renews its lease every
ttl/3 and the others keep trying, so a standby takes over within one ttl of the leader
dying, and a job never runs twice concurrently across processes.

Jobs come from domains, never named here: every ``tasks.py`` module under the domain
packages may expose ``SCHEDULED_JOBS`` (a list of :class:`ScheduledJob`) and
``RETENTION_TASKS`` (async callables run by the hourly retention job), read through
``server.discovery``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.db import make_engine, make_sessionmaker
from server import discovery
from server.redis import make_redis
from server.settings import Settings

log = structlog.get_logger()

LOCK_KEY = "bousai:scheduler:lock"
# Hourly: retention is housekeeping, not urgent.
RETENTION_INTERVAL_SECONDS = 3600.0

JOB_RUNS = Counter("bousai_scheduler_job_runs_total", "Scheduled job runs", ["job", "result"])


@dataclass
class JobContext:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    instance: str
    # Long-lived objects a job keeps between runs (e.g. the feed poller's HTTP client);
    # anything with ``aclose()`` is closed at shutdown.
    resources: dict[str, Any] = field(default_factory=dict)


JobFunc = Callable[[JobContext], Awaitable[Any]]


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    func: JobFunc
    # Seconds between runs, or a function of the settings (e.g. ``lambda s: s.feed_poll_seconds``).
    seconds: float | Callable[[Settings], float]
    run_at_start: bool = True

    def interval(self, settings: Settings) -> float:
        return float(self.seconds(settings) if callable(self.seconds) else self.seconds)




def discover_jobs() -> list[ScheduledJob]:
    """Every domain ``tasks.SCHEDULED_JOBS`` + one retention job running every
    ``RETENTION_TASKS`` (``server.discovery`` checks names and types)."""
    jobs = {job.name: job for job in discovery.collect("tasks", "SCHEDULED_JOBS", ScheduledJob)}
    retention: dict[str, JobFunc] = {}
    for _module, tasks in discovery.hooks("tasks", "RETENTION_TASKS"):
        retention.update(tasks)
    if retention:

        async def run_retention(ctx: JobContext) -> None:
            for name, func in retention.items():
                try:
                    await func(ctx)
                except Exception:  # one domain's clean-up failing must not skip the others
                    log.exception("server.scheduler.retention_failed", task=name)

        jobs["server.retention"] = ScheduledJob("server.retention", run_retention, RETENTION_INTERVAL_SECONDS, False)
    return list(jobs.values())


class SchedulerLock:
    """A Redis lease: SET NX PX to take it, compare-and-PEXPIRE to renew, compare-and-DEL to release."""

    _RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
    _RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"

    def __init__(self, redis: aioredis.Redis, ttl_seconds: float, *, key: str = LOCK_KEY, token: str | None = None):
        self.redis = redis
        self.key = key
        self.ttl_ms = max(1000, int(ttl_seconds * 1000))
        self.token = token or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._held = False
        self._valid_until = 0.0

    @property
    def held(self) -> bool:
        """Held and not possibly expired: a stalled leader stops starting jobs before a
        standby can take the lease (the lease is timed from before the Redis call)."""
        return self._held and time.monotonic() < self._valid_until

    @held.setter
    def held(self, value: bool) -> None:
        self._held = value

    def _granted(self, ok: bool, started: float) -> bool:
        self._held = ok
        # 10 % margin for clock drift between this process and Redis.
        self._valid_until = started + 0.9 * self.ttl_ms / 1000 if ok else 0.0
        return ok

    async def acquire(self) -> bool:
        started = time.monotonic()
        return self._granted(bool(await self.redis.set(self.key, self.token, nx=True, px=self.ttl_ms)), started)

    async def renew(self) -> bool:
        started = time.monotonic()
        return self._granted(bool(await self.redis.eval(self._RENEW, 1, self.key, self.token, self.ttl_ms)), started)

    async def release(self) -> None:
        if self._held:
            await self.redis.eval(self._RELEASE, 1, self.key, self.token)
        self._held = False


async def _lease_loop(lock: SchedulerLock, scheduler: AsyncIOScheduler, jobs: list[ScheduledJob],
                      stop: asyncio.Event) -> None:
    period = lock.ttl_ms / 3000
    while not stop.is_set():
        was_held = lock._held
        try:
            held = await (lock.renew() if was_held else lock.acquire())
        except Exception as exc:  # Redis unreachable: we cannot prove we lead, so we do not
            log.warning("server.scheduler.lock_error", error=str(exc))
            lock.held = held = False
        if held and not was_held:
            log.info("server.scheduler.leader", token=lock.token)
            now = datetime.now(UTC)
            for job in jobs:
                if job.run_at_start:
                    scheduler.modify_job(job.name, next_run_time=now)
            scheduler.resume()
        elif was_held and not held:
            log.warning("server.scheduler.lock_lost", token=lock.token)
            scheduler.pause()
        try:
            await asyncio.wait_for(stop.wait(), timeout=period)
        except TimeoutError:
            pass


def _wrap(job: ScheduledJob, ctx: JobContext, lock: SchedulerLock) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        if not lock.held:  # lost the lease since this run was scheduled
            return
        try:
            await job.func(ctx)
        except Exception:
            JOB_RUNS.labels(job.name, "error").inc()
            log.exception("server.scheduler.job_failed", job=job.name)
            return
        JOB_RUNS.labels(job.name, "ok").inc()

    return run


async def run_scheduler(settings: Settings, *, stop: asyncio.Event | None = None,
                        jobs: list[ScheduledJob] | None = None) -> None:
    """Run until ``stop`` is set (or the task is cancelled). Safe to start more than once."""
    stop = stop or asyncio.Event()
    jobs = discover_jobs() if jobs is None else jobs
    engine = make_engine(settings, pool_size=max(2, settings.feed_fetch_concurrency + 2), max_overflow=4,
                         application_name="bousai-scheduler")
    redis = make_redis(settings)
    lock = SchedulerLock(redis, settings.scheduler_lock_ttl_seconds)
    ctx = JobContext(settings, engine, make_sessionmaker(engine), redis, instance=lock.token)
    scheduler = AsyncIOScheduler(timezone=UTC)
    for job in jobs:
        scheduler.add_job(_wrap(job, ctx, lock), IntervalTrigger(seconds=job.interval(settings)), id=job.name,
                          name=job.name, max_instances=1, coalesce=True, misfire_grace_time=None)
    scheduler.start(paused=True)
    log.info("server.scheduler.started", jobs=[j.name for j in jobs], token=lock.token)
    try:
        await _lease_loop(lock, scheduler, jobs, stop)
    finally:
        scheduler.shutdown(wait=False)
        try:
            await lock.release()
        except Exception as exc:
            log.warning("server.scheduler.release_failed", error=str(exc))
        for resource in ctx.resources.values():
            closer = getattr(resource, "aclose", None)
            if closer is not None:
                await closer()
        await redis.aclose()
        await engine.dispose()
        log.info("server.scheduler.stopped", token=lock.token)


def main(settings: Settings) -> int:
    """``bousai scheduler``: run until SIGINT/SIGTERM."""
    import signal

    from server.logging import configure_logging

    configure_logging(settings.log_level, settings.log_json)

    async def _run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_scheduler(settings, stop=stop)

    asyncio.run(_run())
    return 0
