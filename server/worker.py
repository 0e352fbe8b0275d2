"""The worker process (``bousai worker``): consumes Redis Streams with consumer groups.

Work is discovered, never named here: every ``tasks.py`` module in the domain packages
may expose

- ``STREAM_HANDLERS``: a list of :class:`StreamHandler` — a stream, a consumer group and
  ``async handler(ctx, message)``. The entry is acked only after the handler returned,
  i.e. after its work is durable (committed); a handler that raises leaves it pending.
- ``WORKER_STARTUP``: async callables ``(ctx)`` run once before consuming (warm a push
  provider, so the first alert does not pay for its connections); a failure is logged.
- ``WORKER_LOOPS``: a list of :class:`WorkerLoop` — ``async func(ctx)`` run every
  ``seconds`` in every worker (so it must be safe to run concurrently, e.g. SKIP
  LOCKED), and at once when PostgreSQL ``NOTIFY``s its ``wake_channel``.

Entries another consumer read but never acked (it was ``kill -9``-ed) are claimed with
XAUTOCLAIM once idle for ``claim_idle_ms``. Handlers must be idempotent: an entry can be
handled twice. SIGTERM/SIGINT stop reading, let in-flight entries finish (bounded by
``SHUTDOWN_GRACE_SECONDS``) and exit 0.

Environment knobs (not Settings: they are per-process, set by tests and benches):
``BOUSAI_WORKER_STREAMS`` (comma list; only these streams — a lane family's name, e.g.
``alerts:new``, selects all its lanes), ``BOUSAI_WORKER_CLAIM_IDLE_MS``,
``BOUSAI_WORKER_LOOPS`` (``0`` to run no loops).
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import redis.asyncio as aioredis
import structlog
from prometheus_client import Counter
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.db import asyncpg_dsn, make_engine, make_sessionmaker
from server.logging import configure_logging
from server import discovery
from server.discovery import import_all_models
from server.redis import make_redis
from server.settings import Settings
from server.streams import (
    DEFAULT_CLAIM_IDLE_MS,
    KEEPALIVE_SECONDS,
    StreamMessage,
    ack,
    claim_stale,
    ensure_group,
    keep_claimed,
    read_group,
)
from server.streams import _decode as _decode_entries

log = structlog.get_logger()

# In-flight entries get this long to finish after SIGTERM (a 500-message push batch takes < 5 s).
SHUTDOWN_GRACE_SECONDS = 30.0
# XREADGROUP block: bounds how long a stop request waits for the reader to notice.
READ_BLOCK_MS = 1000
# Liveness key ``bousai:worker:<name>``: refreshed this often, expires after three misses.
HEARTBEAT_SECONDS = 10.0
HEARTBEAT_KEY = "bousai:worker:{name}"

ENTRIES = Counter("bousai_worker_entries_total", "Stream entries handled", ["stream", "result"])


@dataclass
class WorkerContext:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    name: str
    # Long-lived objects shared by handlers (push provider, HTTP clients); closed at exit
    # when they have ``aclose()``/``close()``.
    resources: dict[str, Any] = field(default_factory=dict)

    async def resource(self, key: str, factory: Callable[["WorkerContext"], Awaitable[Any]]) -> Any:
        if key not in self.resources:
            self.resources[key] = await factory(self)
        return self.resources[key]


HandlerFunc = Callable[[WorkerContext, StreamMessage], Awaitable[None]]
LoopFunc = Callable[[WorkerContext], Awaitable[Any]]


@dataclass(frozen=True)
class StreamHandler:
    stream: str
    group: str
    handler: HandlerFunc
    # Entries of this stream handled at once by one worker (a fan-out is heavy: 1-2;
    # push jobs wait on the network: 8+).
    concurrency: int = 1
    claim_idle_ms: int = DEFAULT_CLAIM_IDLE_MS
    # Priority lanes (``server.lanes``): handlers of one family (``lane_of``: the alert
    # lane's stream, e.g. ``push:jobs``) are read together — a ``critical`` handler by a
    # reader of its own (slots nothing else can hold), the ``alert`` and ``bulk`` handlers
    # by one reader with shared slots, alert first and bulk first once in
    # ``bulk_share_every`` reads. No lane: a plain reader, as before.
    lane: str | None = None
    lane_of: str | None = None


@dataclass(frozen=True)
class WorkerLoop:
    name: str
    func: LoopFunc
    seconds: float
    # PostgreSQL NOTIFY channel that runs the loop at once (delivered only on commit).
    wake_channel: str | None = None


_STARTUP: list[LoopFunc] = []


def discover() -> tuple[list[StreamHandler], list[WorkerLoop]]:
    """Every domain ``tasks`` module's handlers and loops (``server.discovery`` checks the
    names and types: a misspelt hook stops the worker instead of dropping the work)."""
    _STARTUP[:] = discovery.collect("tasks", "WORKER_STARTUP")
    return (
        discovery.collect("tasks", "STREAM_HANDLERS", StreamHandler),
        discovery.collect("tasks", "WORKER_LOOPS", WorkerLoop),
    )


class Worker:
    def __init__(
        self,
        ctx: WorkerContext,
        handlers: list[StreamHandler],
        loops: list[WorkerLoop],
        *,
        claim_idle_ms: int | None = None,
        freeze_after_startup: bool = False,
    ):
        self.ctx = ctx
        self.handlers = handlers
        self.loops = loops
        # A worker process (not one run inside tests) moves what start-up built out of the
        # cyclic GC's generations once it is built (see run).
        self.freeze_after_startup = freeze_after_startup
        self.claim_idle_ms = claim_idle_ms
        self.stop = asyncio.Event()
        self._wake: dict[str, asyncio.Event] = {lp.name: asyncio.Event() for lp in loops}
        self._listener: asyncpg.Connection | None = None

    # --- streams -------------------------------------------------------------------
    async def _keep_claimed(self, h: StreamHandler, msg: StreamMessage) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_SECONDS)
            try:
                await keep_claimed(self.ctx.redis, h.stream, h.group, self.ctx.name, msg.id)
            except (RedisError, OSError) as exc:  # the entry may be claimed later: handlers are idempotent
                log.warning("server.worker.keepalive_failed", stream=h.stream, entry_id=msg.id, error=str(exc))

    async def _handle(self, h: StreamHandler, msg: StreamMessage) -> None:
        # While the handler runs (a 100k fan-out takes tens of seconds), the entry stays ours.
        keepalive = asyncio.create_task(self._keep_claimed(h, msg))
        try:
            await self._handle_entry(h, msg)
        finally:
            keepalive.cancel()

    async def _handle_entry(self, h: StreamHandler, msg: StreamMessage) -> None:
        try:
            await h.handler(self.ctx, msg)
        except Exception:
            ENTRIES.labels(h.stream, "error").inc()
            log.exception("server.worker.handler_failed", stream=h.stream, entry_id=msg.id)
            return
        try:
            await ack(self.ctx.redis, h.stream, h.group, msg.id)
        except RedisError as exc:
            # Not acked: it will be claimed and handled again, which handlers tolerate.
            log.warning("server.worker.ack_failed", stream=h.stream, entry_id=msg.id, error=str(exc))
        ENTRIES.labels(h.stream, "ok").inc()

    async def _consume(self, h: StreamHandler) -> None:
        idle = self.claim_idle_ms or h.claim_idle_ms
        slots = asyncio.Semaphore(h.concurrency)
        inflight: set[asyncio.Task] = set()
        group_ready = False
        while not self.stop.is_set():
            try:
                if not group_ready:
                    await ensure_group(self.ctx.redis, h.stream, h.group)
                    group_ready = True
                await slots.acquire()
                free = 1
                while not slots.locked() and free < h.concurrency:
                    await slots.acquire()
                    free += 1
                try:
                    messages = await claim_stale(
                        self.ctx.redis, h.stream, h.group, self.ctx.name, min_idle_ms=idle, count=free
                    )
                    if messages:
                        log.info("server.worker.claimed", stream=h.stream, count=len(messages))
                    else:
                        messages = await read_group(
                            self.ctx.redis, h.stream, h.group, self.ctx.name, count=free, block_ms=READ_BLOCK_MS
                        )
                except BaseException:
                    for _ in range(free):
                        slots.release()
                    raise
                for _ in range(free - len(messages)):
                    slots.release()
                for msg in messages:
                    task = asyncio.create_task(self._run_one(h, msg, slots))
                    inflight.add(task)
                    task.add_done_callback(inflight.discard)
            except (RedisError, OSError) as exc:
                # NOGROUP after a Redis restart / XGROUP DESTROY: re-create and go on.
                group_ready = False
                log.warning("server.worker.stream_error", stream=h.stream, error=str(exc))
                await self._sleep(1.0)
        if inflight:
            await asyncio.wait(inflight, timeout=SHUTDOWN_GRACE_SECONDS)

    async def _consume_lanes(self, hs: list[StreamHandler]) -> None:
        """One reader for the non-critical lanes of a family: shared slots, alert before
        bulk, bulk first once in ``bulk_share_every`` entries (no starvation)."""
        from server.lanes import BULK, PRIORITY, lane_settings

        hs = sorted(hs, key=lambda h: PRIORITY.get(h.lane or "", 9))
        by_stream = {h.stream: h for h in hs}
        group = hs[0].group
        concurrency = max(h.concurrency for h in hs)
        idle = self.claim_idle_ms or min(h.claim_idle_ms for h in hs)
        every = max(1, lane_settings().bulk_share_every)
        slots = asyncio.Semaphore(concurrency)
        inflight: set[asyncio.Task] = set()
        group_ready = False
        since_bulk = 0
        while not self.stop.is_set():
            try:
                if not group_ready:
                    for h in hs:
                        await ensure_group(self.ctx.redis, h.stream, h.group)
                    group_ready = True
                await slots.acquire()
                free = 1
                while not slots.locked() and free < concurrency:
                    await slots.acquire()
                    free += 1
                taken: list[tuple[StreamHandler, StreamMessage]] = []
                try:
                    for h in hs:
                        if len(taken) >= free:
                            break
                        claimed = await claim_stale(
                            self.ctx.redis, h.stream, h.group, self.ctx.name, min_idle_ms=idle, count=free - len(taken)
                        )
                        if claimed:
                            log.info("server.worker.claimed", stream=h.stream, count=len(claimed))
                        taken += [(h, m) for m in claimed[: free - len(taken)]]
                    if not taken:
                        order = hs
                        if since_bulk >= every:
                            order = [h for h in hs if h.lane == BULK] + [h for h in hs if h.lane != BULK]
                        for h in order:  # the first lane with work, without waiting
                            got = await read_group(
                                self.ctx.redis, h.stream, h.group, self.ctx.name, count=free, block_ms=None
                            )
                            if got:
                                taken = [(h, m) for m in got]
                                break
                    if not taken:  # nothing anywhere: wait on every lane at once
                        resp = await self.ctx.redis.xreadgroup(
                            group, self.ctx.name, {h.stream: ">" for h in hs}, count=free, block=READ_BLOCK_MS
                        )
                        for name, entries in resp or []:
                            stream = name.decode() if isinstance(name, bytes) else name
                            h = by_stream[stream]
                            taken += [(h, m) for m in _decode_entries(stream, entries)]
                except BaseException:
                    for _ in range(free):
                        slots.release()
                    raise
                for _ in range(free - len(taken)):
                    slots.release()
                for i, (h, msg) in enumerate(taken):
                    since_bulk = 0 if h.lane == BULK else since_bulk + 1
                    # The blocking read over every lane may hand out more entries than free
                    # slots (COUNT is per stream): the extra ones wait for a slot, not for a claim.
                    run = self._run_one(h, msg, slots) if i < free else self._run_after_slot(h, msg, slots)
                    task = asyncio.create_task(run)
                    inflight.add(task)
                    task.add_done_callback(inflight.discard)
            except (RedisError, OSError) as exc:
                group_ready = False
                log.warning("server.worker.stream_error", stream=hs[0].lane_of or hs[0].stream, error=str(exc))
                await self._sleep(1.0)
        if inflight:
            await asyncio.wait(inflight, timeout=SHUTDOWN_GRACE_SECONDS)

    async def _run_after_slot(self, h: StreamHandler, msg: StreamMessage, slots: asyncio.Semaphore) -> None:
        await slots.acquire()
        await self._run_one(h, msg, slots)

    async def _run_one(self, h: StreamHandler, msg: StreamMessage, slots: asyncio.Semaphore) -> None:
        try:
            await self._handle(h, msg)
        finally:
            slots.release()

    # --- loops ---------------------------------------------------------------------
    async def _sleep(self, seconds: float, wake: asyncio.Event | None = None) -> None:
        waits = [asyncio.ensure_future(self.stop.wait())]
        if wake is not None:
            waits.append(asyncio.ensure_future(wake.wait()))
        done, pending = await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for p in pending:
            p.cancel()

    async def _loop(self, lp: WorkerLoop) -> None:
        wake = self._wake[lp.name]
        while not self.stop.is_set():
            wake.clear()
            try:
                await lp.func(self.ctx)
            except Exception:
                log.exception("server.worker.loop_failed", loop=lp.name)
            await self._sleep(lp.seconds, wake)

    async def _listen(self) -> None:
        channels = {lp.wake_channel for lp in self.loops if lp.wake_channel}
        if not channels:
            return
        try:
            self._listener = await asyncpg.connect(asyncpg_dsn(self.ctx.settings.database_url))
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("server.worker.listen_failed", error=str(exc))
            return

        def on_notify(_conn, _pid, channel, _payload):
            for lp in self.loops:
                if lp.wake_channel == channel:
                    self._wake[lp.name].set()

        for ch in channels:
            await self._listener.add_listener(ch, on_notify)

    async def _heartbeat(self) -> None:
        key = HEARTBEAT_KEY.format(name=self.ctx.name)
        while not self.stop.is_set():
            try:
                await self.ctx.redis.set(key, ",".join(h.stream for h in self.handlers), ex=int(HEARTBEAT_SECONDS * 3))
            except (RedisError, OSError):
                pass
            await self._sleep(HEARTBEAT_SECONDS)
        try:
            await self.ctx.redis.delete(key)
        except (RedisError, OSError):
            pass

    # --- lifecycle -----------------------------------------------------------------
    async def run(self, startup: list[LoopFunc] | None = None) -> None:
        for func in startup or []:
            try:
                await func(self.ctx)
            except Exception:
                log.exception("server.worker.startup_failed", func=getattr(func, "__name__", str(func)))
        await self._listen()
        if self.freeze_after_startup:
            # What start-up built lives as long as the process (area indexes, clients,
            # settings): out of the cyclic GC's generations, so the collections a 100,000-push
            # fan-out triggers do not walk it again and again (the api does the same). Measured:
            # the workers' CPU for a 100k fan-out 18.6 → 15.7 s, its last push 17.5 → 15.4 s.
            gc.freeze()
        for h in self.handlers:
            try:
                await ensure_group(self.ctx.redis, h.stream, h.group)
            except (RedisError, OSError) as exc:
                log.warning("server.worker.group_failed", stream=h.stream, error=str(exc))
        tasks = []
        shared: dict[tuple[str, str], list[StreamHandler]] = {}
        for h in self.handlers:
            if h.lane_of and h.lane in ("alert", "bulk"):
                shared.setdefault((h.lane_of, h.group), []).append(h)
            else:  # plain streams, and critical lanes: a reader of their own
                tasks.append(asyncio.create_task(self._consume(h), name=f"stream:{h.stream}"))
        for (family, _group), hs in shared.items():
            tasks.append(asyncio.create_task(self._consume_lanes(hs), name=f"lanes:{family}"))
        tasks.append(asyncio.create_task(self._heartbeat(), name="heartbeat"))
        tasks += [asyncio.create_task(self._loop(lp), name=f"loop:{lp.name}") for lp in self.loops]
        log.info(
            "server.worker.started",
            name=self.ctx.name,
            streams=[h.stream for h in self.handlers],
            loops=[lp.name for lp in self.loops],
        )
        try:
            await self.stop.wait()
        finally:
            await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_SECONDS + 5)
            for t in tasks:
                if not t.done():
                    t.cancel()
            if self._listener is not None:
                await self._listener.close()
            log.info("server.worker.stopped", name=self.ctx.name)


async def close_resources(ctx: WorkerContext) -> None:
    for key, res in ctx.resources.items():
        closer = getattr(res, "aclose", None) or getattr(res, "close", None)
        if closer is None:
            continue
        try:
            r = closer()
            if asyncio.iscoroutine(r):
                await r
        except Exception:
            log.warning("server.worker.resource_close_failed", resource=key)


async def run_worker(
    settings: Settings, name: str | None = None, *, stop: asyncio.Event | None = None, process: bool = False
) -> None:
    """``process``: this is the worker process itself (``bousai worker``), not a worker run
    inside another program (tests)."""
    import_all_models()
    handlers, loops = discover()
    if settings.worker_streams:
        wanted = {s.strip() for s in settings.worker_streams.split(",") if s.strip()}
        # A family's name selects its lanes too (``alerts:new`` → ``alerts:new:critical`` …).
        handlers = [h for h in handlers if h.stream in wanted or (h.lane_of in wanted)]
    if not settings.worker_loops:
        loops = []
    engine = make_engine(settings, application_name="bousai-worker")
    redis = make_redis(settings)
    ctx = WorkerContext(
        settings=settings,
        engine=engine,
        sessionmaker=make_sessionmaker(engine),
        redis=redis,
        name=name or f"{socket.gethostname()}-{os.getpid()}",
    )
    worker = Worker(ctx, handlers, loops, claim_idle_ms=settings.worker_claim_idle_ms, freeze_after_startup=process)
    if stop is not None:
        async def relay_stop():
            await stop.wait()
            worker.stop.set()

        stopper = asyncio.create_task(relay_stop())
    else:
        stopper = None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stop.set)
    try:
        await worker.run(list(_STARTUP) if handlers else [])
    finally:
        if stopper is not None:
            stopper.cancel()
        await close_resources(ctx)
        await redis.aclose()
        await engine.dispose()


def main(settings: Settings, name: str | None = None) -> int:
    configure_logging(settings.log_level, settings.log_json)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(run_worker(settings, name, process=True))
    return 0
