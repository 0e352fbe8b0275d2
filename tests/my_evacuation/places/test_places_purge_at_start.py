"""The current-location purge runs when the scheduler starts, not only an hour later
(issue 12 item 5: a scheduler restarted more often than hourly never purged)."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from sqlalchemy import text

from server.scheduler import LOCK_KEY, discover_jobs, run_scheduler

PRIVATE_REDIS = "redis://127.0.0.1:6379/12"


async def test_scheduler_start_purges_expired_current_locations(client, engine, settings):
    device = (await client.post("/v1/devices", json={"platform": "web"})).json()["token"]
    r = await client.put("/v1/me/location", json={"lat": 37.75, "lon": 140.47},
                         headers={"Authorization": f"Bearer {device}"})
    assert r.status_code in (200, 204), r.text
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE places SET expires_at = now() - interval '1 minute' WHERE kind = 'current'"))

    jobs = [j for j in discover_jobs() if j.name == "my_evacuation.places.current_locations"]
    assert jobs and jobs[0].run_at_start
    private = aioredis.from_url(PRIVATE_REDIS)
    await private.delete(LOCK_KEY)
    await private.aclose()
    stop = asyncio.Event()
    task = asyncio.create_task(run_scheduler(settings.model_copy(update={"redis_url": PRIVATE_REDIS}),
                                             stop=stop, jobs=jobs))
    try:
        for _ in range(100):
            async with engine.connect() as conn:
                left = (await conn.execute(text("SELECT count(*) FROM places WHERE kind = 'current'"))).scalar()
            if left == 0:
                break
            await asyncio.sleep(0.1)
        assert left == 0, "the expired location was not purged at scheduler start"
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
