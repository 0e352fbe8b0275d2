"""Faults, with real worker processes, the real FCM provider and the local FCM server:

- ``kill -9`` of the worker in the middle of a fan-out: a second worker claims its pending
  entry and finishes; every targeted device gets exactly one push;
- a Redis restart (a Redis of the test's own, restarted empty) in the middle of sending:
  the queued push rows in Postgres are published again by the catch-up; again exactly one
  push per device.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import redis.asyncio as aioredis
from sqlalchemy import text

from testkit.bench.e2e import seed, worker_env
from alerts.events.outbox import relay_outbox
from testkit.standins.serving import free_port, wait_until_listening
from tests.kits.delivery import quake_doc, store

RESIDENTS = 6000


def start_worker(env: dict[str, str], name: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "server.cli", "worker", "--name", name], env=env)


async def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def count(committed, sql: str) -> int:
    async with committed() as s:
        return (await s.execute(text(sql))).scalar_one()


def alert_pushes_at_fcm(local_fcm, alert_id: int) -> dict[str, int]:
    prefix = f"a{alert_id}-"
    return {mid: n for mid, n in local_fcm.state.accepted.items() if mid.startswith(prefix)}


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def test_kill_9_mid_fan_out_still_one_push_per_device(committed, redis_client, settings, local_fcm):
    local_fcm.state.reset()
    devices = await seed(committed, RESIDENTS, token_prefix="kill")
    aid = await store(committed, quake_doc("k1", {"250": "5-", "251": "5+", "252": "4"}))
    redis_url = settings.redis_url
    # Worker A only fans out (so its death is a fan-out death), claiming nothing for a long time.
    a = start_worker(worker_env(local_fcm, settings.database_url, redis_url, BOUSAI_WORKER_STREAMS="alerts:new"), "fault-a")
    b = None
    try:
        await wait_for(lambda: redis_client.exists("bousai:worker:fault-a"), 60, "worker A to start")
        await relay_outbox(committed, redis_client)
        told = await wait_for(
            lambda: count(committed, "SELECT count(*) FROM deliveries"), 120, "worker A to commit its first chunk"
        )
        os.kill(a.pid, signal.SIGKILL)
        a.wait()
        assert told < RESIDENTS, "the fan-out finished before the kill; the test did not test anything"
        pending = await redis_client.xpending("alerts:new", "delivery")
        assert pending["pending"] == 1
        # Worker B: everything, and claims entries idle for a second.
        b = start_worker(worker_env(local_fcm, settings.database_url, redis_url, BOUSAI_WORKER_CLAIM_IDLE_MS="1000"), "fault-b")
        await wait_for(lambda: _ok_count(committed, devices), 300, "every push sent")
        got = alert_pushes_at_fcm(local_fcm, aid)
        assert len(got) == devices
        assert set(got.values()) == {1}
        assert (await redis_client.xpending("alerts:new", "delivery"))["pending"] == 0
    finally:
        if a.poll() is None:
            a.kill()
        if b is not None:
            stop(b)


async def _ok_count(committed, expected: int) -> bool:
    n = await count(committed, "SELECT count(*) FROM push_messages WHERE status = 'ok' AND delivery_id IS NOT NULL")
    return n >= expected


async def test_redis_restart_mid_sending_still_one_push_per_device(committed, settings, local_fcm, tmp_path):
    local_fcm.state.reset()
    port = free_port()
    cmd = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    wait_until_listening(port)
    redis_url = f"redis://127.0.0.1:{port}/0"
    r = aioredis.from_url(redis_url)
    devices = await seed(committed, RESIDENTS, token_prefix="restart")
    aid = await store(committed, quake_doc("r1", {"250": "5-", "251": "5+", "252": "4"}))
    # Slow the FCM server so the restart lands while pushes are still going out.
    local_fcm.state.faults["delay_seconds"] = 0.01
    env = worker_env(local_fcm, settings.database_url, redis_url, BOUSAI_PUSH_STALE_SECONDS="2")
    w = start_worker(env, "restart-w")
    try:
        await wait_for(lambda: r.exists("bousai:worker:restart-w"), 60, "the worker to start")
        await relay_outbox(committed, r)
        await wait_for(
            lambda: count(committed, "SELECT count(*) FROM push_messages WHERE status = 'ok'"), 120, "the first pushes"
        )
        server.kill()
        server.wait()
        sent_before = await count(committed, "SELECT count(*) FROM push_messages WHERE status = 'ok'")
        server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)  # empty: streams and groups are gone
        wait_until_listening(port)
        local_fcm.state.faults["delay_seconds"] = 0.0
        await wait_for(lambda: _ok_count(committed, devices), 300, "every push sent after the restart")
        assert sent_before < devices, "sending finished before the restart; the test did not test anything"
        got = alert_pushes_at_fcm(local_fcm, aid)
        assert len(got) == devices
        assert set(got.values()) == {1}
    finally:
        local_fcm.state.faults["delay_seconds"] = 0.0
        stop(w)
        await r.aclose()
        server.kill()
        server.wait()
