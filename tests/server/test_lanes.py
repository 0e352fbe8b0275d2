"""Priority lanes in the worker runtime (server.lanes, server.worker): critical first, bulk
never starved, the critical gate, the lane of an alert from its facts."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.ext.asyncio import async_sessionmaker

from server import lanes
from alerts.facts.lanes import lane_of_alert
from server.lanes import ALERT, BULK, CRITICAL, CriticalGate, LaneSettings
from server.streams import ensure_group, publish
from server.worker import StreamHandler, Worker, WorkerContext

FAMILY, GROUP = "test:lanes", "lane-testers"


def ctx_for(settings, engine, redis_client, name: str) -> WorkerContext:
    return WorkerContext(settings=settings, engine=engine, sessionmaker=async_sessionmaker(engine), redis=redis_client, name=name)


def lane_handlers(record, *, concurrency: int = 1) -> list[StreamHandler]:
    async def handle(ctx, msg):
        record.append((msg.fields["lane"], int(msg.fields["n"])))
        await asyncio.sleep(0.005)

    return [
        StreamHandler(lanes.stream_for(FAMILY, lane, lanes_on=True), GROUP, handle, concurrency=concurrency, lane=lane,
                      lane_of=FAMILY)
        for lane in lanes.LANES
    ]


async def fill(redis_client, lane: str, n: int) -> None:
    for i in range(n):
        await publish(redis_client, lanes.stream_for(FAMILY, lane, lanes_on=True), {"lane": lane, "n": i})


async def run_until(worker: Worker, cond, timeout: float = 30.0) -> None:
    task = asyncio.create_task(worker.run())
    try:
        deadline = time.monotonic() + timeout
        while not cond():
            assert time.monotonic() < deadline, "condition not reached"
            await asyncio.sleep(0.01)
    finally:
        worker.stop.set()
        await asyncio.wait_for(task, 40)


async def test_a_critical_entry_queued_behind_50_bulk_entries_is_handled_first(settings, engine, redis_client):
    record: list[tuple[str, int]] = []
    for h in lane_handlers(record):
        await ensure_group(redis_client, h.stream, h.group)
    await fill(redis_client, BULK, 50)
    await fill(redis_client, CRITICAL, 1)
    w = Worker(ctx_for(settings, engine, redis_client, "lanes-1"), lane_handlers(record), [])
    await run_until(w, lambda: len(record) >= 51)
    # The critical reader has slots of its own: at most the one bulk entry already taken
    # when both readers started can come before it.
    assert record.index((CRITICAL, 0)) <= 1


async def test_alert_before_bulk_yet_bulk_gets_its_share(settings, engine, redis_client):
    record: list[tuple[str, int]] = []
    for h in lane_handlers(record):
        await ensure_group(redis_client, h.stream, h.group)
    await fill(redis_client, ALERT, 100)
    await fill(redis_client, BULK, 5)
    every = lanes.lane_settings().bulk_share_every
    w = Worker(ctx_for(settings, engine, redis_client, "lanes-2"), lane_handlers(record), [])
    await run_until(w, lambda: len(record) >= 105)
    order = [lane for lane, _ in record]
    assert order[0] == ALERT  # alert first
    bulk_at = [i for i, lane in enumerate(order) if lane == BULK]
    # No starvation: one bulk entry every `every` alert entries while alerts keep coming,
    # so all five are done long before the 100 alerts are.
    assert len(bulk_at) == 5
    assert bulk_at[0] <= every + 1
    assert all(b - a <= every + 1 for a, b in zip(bulk_at, bulk_at[1:], strict=False))
    assert bulk_at[-1] < 100


async def test_blocking_read_over_every_lane_loses_no_entry(settings, engine, redis_client):
    """Entries that arrive while the reader waits on all lanes at once (more than its free
    slots) are all handled, none left pending for a claim."""
    record: list[tuple[str, int]] = []
    handlers = lane_handlers(record, concurrency=1)
    w = Worker(ctx_for(settings, engine, redis_client, "lanes-3"), handlers, [])
    task = asyncio.create_task(w.run())
    try:
        await asyncio.sleep(0.3)  # the reader is blocked on every lane
        pipe = redis_client.pipeline(transaction=False)
        for lane in (ALERT, BULK):
            for i in range(3):
                pipe.xadd(lanes.stream_for(FAMILY, lane, lanes_on=True), {"lane": lane, "n": i})
        await pipe.execute()
        deadline = time.monotonic() + 10
        while len(record) < 6:
            assert time.monotonic() < deadline, f"only {record}"
            await asyncio.sleep(0.01)
    finally:
        w.stop.set()
        await asyncio.wait_for(task, 40)
    for lane in (ALERT, BULK):
        assert (await redis_client.xpending(lanes.stream_for(FAMILY, lane, lanes_on=True), GROUP))["pending"] == 0


async def test_the_critical_gate_sees_waiting_and_running_critical_work(redis_client):
    gate = CriticalGate(redis_client, LaneSettings(gate_cache_seconds=0))
    assert not await gate.busy()  # no stream at all
    stream = lanes.stream_for(lanes.PUSH_STREAM, CRITICAL, lanes_on=True)
    await ensure_group(redis_client, stream, lanes.PUSH_GROUP)
    assert not await gate.busy()
    await publish(redis_client, stream, {"ids": "1"})
    assert await gate.busy()  # waiting (lag)
    (_, [(entry, _)]), = await redis_client.xreadgroup(lanes.PUSH_GROUP, "c", {stream: ">"}, count=1)
    assert await gate.busy()  # running (pending)
    await redis_client.xack(stream, lanes.PUSH_GROUP, entry)
    assert not await gate.busy()
    assert await gate.wait_clear(1.0) < 0.5
    off = CriticalGate(redis_client, LaneSettings(enabled=False))
    await publish(redis_client, stream, {"ids": "2"})
    assert not await off.busy()  # the single-lane baseline has no gate


def test_lane_of_an_alert_comes_from_its_facts():
    critical = {"in_force": True, "areas": {"250": {"code": "250", "life_critical": True, "in_force": True}}, "default": {}}
    other = {"in_force": True, "areas": {"250": {"code": "250", "level": 3, "in_force": True}}, "default": {}}
    ended = {"in_force": False, "areas": {"250": {"code": "250", "life_critical": True, "in_force": False}}, "default": {}}
    assert lane_of_alert(critical) == CRITICAL
    assert lane_of_alert(other) == ALERT
    assert lane_of_alert(ended) == ALERT  # an all-clear of a life-critical danger
    assert lane_of_alert(critical, msg_type="cancel") == ALERT
    assert lane_of_alert(critical, is_drill=True) == ALERT
    assert lane_of_alert(other, category="shelter") == BULK
    assert lane_of_alert(None) == ALERT


def test_stream_names_keep_the_alert_lane_where_it_was():
    assert lanes.stream_for("push:jobs", ALERT, lanes_on=True) == "push:jobs"
    assert lanes.stream_for("push:jobs", CRITICAL, lanes_on=True) == "push:jobs:critical"
    assert lanes.stream_for("alerts:new", BULK, lanes_on=True) == "alerts:new:bulk"
    assert lanes.stream_for("push:jobs", CRITICAL, lanes_on=False) == "push:jobs"
