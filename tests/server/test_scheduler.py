"""Scheduler: two processes, one leader; jobs run only under the lease; a standby takes over."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from server.scheduler import LOCK_KEY, ScheduledJob, SchedulerLock, discover_jobs, run_scheduler

PRIVATE_REDIS = "redis://127.0.0.1:6379/13"


async def test_lock_is_exclusive_and_released_only_by_its_holder(redis_client):
    a = SchedulerLock(redis_client, 5, key="t:lock", token="a")
    b = SchedulerLock(redis_client, 5, key="t:lock", token="b")
    assert await a.acquire()
    assert not await b.acquire()
    assert not await b.renew()
    await b.release()  # not the holder: must not free a's lease
    assert await redis_client.get("t:lock") == b"a"
    assert await a.renew()
    await a.release()
    assert await b.acquire()


async def test_two_schedulers_only_one_runs_jobs_and_standby_takes_over(settings):
    private = aioredis.from_url(PRIVATE_REDIS)
    await private.delete(LOCK_KEY)
    await private.aclose()
    runs: list[str] = []
    second_leader = asyncio.Event()
    first_ran = asyncio.Event()

    async def tick(ctx):
        runs.append(ctx.instance)
        first_ran.set()
        if len(set(runs)) > 1:
            second_leader.set()

    jobs = [ScheduledJob("test.tick", tick, seconds=0.05)]
    # A Redis db of its own: other suites flush db 15, which would wipe the lease mid-test.
    fast = settings.model_copy(update={"scheduler_lock_ttl_seconds": 3, "redis_url": PRIVATE_REDIS})
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    task_a = asyncio.create_task(run_scheduler(fast, stop=stop_a, jobs=jobs))
    await asyncio.wait_for(first_ran.wait(), timeout=10)
    task_b = asyncio.create_task(run_scheduler(fast, stop=stop_b, jobs=jobs))
    # Let both run side by side for a few lease periods.
    for _ in range(6):
        await asyncio.sleep(0.25)
    assert len(set(runs)) == 1, "two schedulers ran jobs at the same time"
    leader = runs[0]
    stop_a.set()
    await asyncio.wait_for(task_a, timeout=10)
    await asyncio.wait_for(second_leader.wait(), timeout=10)
    stop_b.set()
    await asyncio.wait_for(task_b, timeout=10)
    assert runs[-1] != leader
    # Runs are never interleaved: all of the first leader's, then all of the standby's.
    switch = runs.index(runs[-1])
    assert set(runs[:switch]) == {leader} and set(runs[switch:]) == {runs[-1]}


def test_domain_jobs_are_discovered():
    names = {j.name for j in discover_jobs()}
    assert {"alerts.feeds.poll", "alerts.outbox.relay", "server.retention"} <= names
