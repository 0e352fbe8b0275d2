"""Worker runtime: discovery, ack only after success, claim of a dead consumer's entries,
re-creation of a lost consumer group, wake-up on NOTIFY, graceful SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

from sqlalchemy import text

from server.streams import publish
from server.worker import StreamHandler, Worker, WorkerLoop, discover
from tests.kits.worker import make_ctx, run_until

STREAM, GROUP = "test:worker", "testers"


def test_discovery_finds_the_delivery_and_push_consumers():
    handlers, loops = discover()
    streams = {h.stream for h in handlers}
    assert {"alerts:new", "push:jobs", "alerts:safety"} <= streams
    assert {"notifications.relay", "push.catch_up"} <= {lp.name for lp in loops}


async def test_entry_is_acked_only_after_its_handler_succeeded(settings, engine, redis_client):
    seen: list[str] = []

    async def flaky(ctx, msg):
        seen.append(msg.fields["n"])
        if len(seen) == 1:
            raise RuntimeError("first attempt fails")

    await publish(redis_client, STREAM, {"n": "1"})
    w = Worker(make_ctx(settings, engine, redis_client, "w1"), [StreamHandler(STREAM, GROUP, flaky)], [], claim_idle_ms=50)

    async def done():
        return len(seen) >= 2 and (await redis_client.xpending(STREAM, GROUP))["pending"] == 0

    await run_until(w, done)
    assert seen == ["1", "1"]


async def test_a_dead_consumers_entry_is_claimed_by_another(settings, engine, redis_client):
    from server.streams import ensure_group, read_group

    await ensure_group(redis_client, STREAM, GROUP)
    await publish(redis_client, STREAM, {"n": "7"})
    # "dead" reads the entry and never acks (as if kill -9).
    assert len(await read_group(redis_client, STREAM, GROUP, "dead", count=10, block_ms=10)) == 1
    handled: list[str] = []

    async def ok(ctx, msg):
        handled.append(msg.fields["n"])

    w = Worker(make_ctx(settings, engine, redis_client, "alive"), [StreamHandler(STREAM, GROUP, ok)], [], claim_idle_ms=100)

    async def done():
        return handled == ["7"] and (await redis_client.xpending(STREAM, GROUP))["pending"] == 0

    await run_until(w, done)


async def test_a_lost_consumer_group_is_recreated(settings, engine, redis_client):
    handled: list[str] = []

    async def ok(ctx, msg):
        handled.append(msg.fields["n"])

    w = Worker(make_ctx(settings, engine, redis_client, "w"), [StreamHandler(STREAM, GROUP, ok)], [])
    task = asyncio.create_task(w.run())
    try:
        await publish(redis_client, STREAM, {"n": "a"})
        for _ in range(500):
            if handled:
                break
            await asyncio.sleep(0.02)
        await redis_client.delete(STREAM)  # as after a Redis restart without persistence
        await asyncio.sleep(1.5)
        await publish(redis_client, STREAM, {"n": "b"})
        for _ in range(500):
            if "b" in handled:
                break
            await asyncio.sleep(0.02)
    finally:
        w.stop.set()
        await asyncio.wait_for(task, 40)
    assert handled == ["a", "b"]


async def test_loop_wakes_on_notify_after_commit(settings, engine, redis_client):
    runs: list[float] = []

    async def loop(ctx):
        runs.append(time.monotonic())

    w = Worker(make_ctx(settings, engine, redis_client, "n"), [], [WorkerLoop("t", loop, 3600, wake_channel="bousai_test_wake")])
    task = asyncio.create_task(w.run())
    try:
        for _ in range(500):
            if runs:
                break
            await asyncio.sleep(0.02)
        async with engine.begin() as conn:
            await conn.execute(text("SELECT pg_notify('bousai_test_wake', '')"))
        for _ in range(500):
            if len(runs) >= 2:
                break
            await asyncio.sleep(0.02)
    finally:
        w.stop.set()
        await asyncio.wait_for(task, 40)
    assert len(runs) >= 2  # the interval is an hour: only the NOTIFY can explain a second run


def test_sigterm_stops_the_worker_process_cleanly(settings):
    env = {
        **os.environ,
        "BOUSAI_DATABASE_URL": settings.database_url,
        "BOUSAI_REDIS_URL": settings.redis_url,
        "BOUSAI_LOG_LEVEL": "WARNING",
        "BOUSAI_WORKER_STREAMS": "alerts:new",
    }
    import redis

    r = redis.from_url(settings.redis_url)
    p = subprocess.Popen([sys.executable, "-m", "server.cli", "worker", "--name", "sigterm"], env=env)
    try:
        deadline = time.monotonic() + 60
        while not r.exists("bousai:worker:sigterm"):
            assert time.monotonic() < deadline and p.poll() is None, "worker did not start"
            time.sleep(0.1)
        p.send_signal(signal.SIGTERM)
        assert p.wait(60) == 0
        assert not r.exists("bousai:worker:sigterm")
    finally:
        if p.poll() is None:
            p.kill()
        r.close()


async def test_a_live_consumers_long_entry_is_never_taken_over(settings, engine, redis_client, monkeypatch):
    """A fan-out longer than the claim idle stays with the worker running it (it touches its
    entry), so a short idle can hand a dead worker's entries over fast without double work."""
    import server.worker as worker_mod

    monkeypatch.setattr(worker_mod, "KEEPALIVE_SECONDS", 0.1)
    runs: list[str] = []

    async def slow(ctx, msg):
        runs.append(ctx.name)
        await asyncio.sleep(1.5)  # five times the claim idle below

    await publish(redis_client, STREAM, {"n": "long"})
    a = Worker(make_ctx(settings, engine, redis_client, "a"), [StreamHandler(STREAM, GROUP, slow)], [], claim_idle_ms=300)
    b = Worker(make_ctx(settings, engine, redis_client, "b"), [StreamHandler(STREAM, GROUP, slow)], [], claim_idle_ms=300)
    tb = asyncio.create_task(b.run())
    try:
        async def done():
            return len(runs) >= 1 and (await redis_client.xpending(STREAM, GROUP))["pending"] == 0

        await run_until(a, done)
    finally:
        b.stop.set()
        await asyncio.wait_for(tb, 40)
    assert len(runs) == 1, runs  # handled once, by whichever read it first
