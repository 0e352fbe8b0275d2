"""Outbox relay: committed alerts reach the stream once; rolled-back ones never; Redis down loses nothing."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from sqlalchemy import select, text

from alerts.events.models import AlertOutbox
from alerts.events.outbox import ALERTS_STREAM, relay_outbox
from alerts.events.service import ingest
from server.db import unit_of_work

from tests.kits.event_docs import quake_doc


async def unrelayed(sessionmaker) -> int:
    async with sessionmaker() as s:
        return (await s.execute(text("SELECT count(*) FROM alert_outbox WHERE relayed_at IS NULL"))).scalar_one()


async def test_committed_alert_is_relayed_to_stream_once(sessionmaker, redis_client):
    async with unit_of_work(sessionmaker) as s:
        res = await ingest(s, quake_doc("R1", "r1"))
    assert await relay_outbox(sessionmaker, redis_client) == 1
    assert await relay_outbox(sessionmaker, redis_client) == 0
    entries = await redis_client.xrange(ALERTS_STREAM)
    assert len(entries) == 1
    fields = entries[0][1]
    assert int(fields[b"alert_id"]) == res.alert_id
    assert int(fields[b"event_id"]) == res.event_id
    assert await unrelayed(sessionmaker) == 0


async def test_rolled_back_ingest_sends_nothing(sessionmaker, redis_client):
    with pytest.raises(RuntimeError):
        async with unit_of_work(sessionmaker) as s:
            await ingest(s, quake_doc("R2", "r2"))
            raise RuntimeError("the job failed after ingest")
    assert await relay_outbox(sessionmaker, redis_client) == 0
    assert await redis_client.xlen(ALERTS_STREAM) == 0


async def test_redis_down_keeps_rows_until_it_is_back(sessionmaker, redis_client):
    async with unit_of_work(sessionmaker) as s:
        await ingest(s, quake_doc("R3", "r3a"))
        await ingest(s, quake_doc("R3", "r3b", msg_type="update", issued_at="2026-11-22T10:10:00+09:00"))
    # A port nothing listens on: connection refused.
    dead = aioredis.from_url("redis://127.0.0.1:1/15", socket_connect_timeout=0.5)
    try:
        assert await relay_outbox(sessionmaker, dead) == 0
    finally:
        await dead.aclose()
    assert await unrelayed(sessionmaker) == 2
    assert await relay_outbox(sessionmaker, redis_client) == 2
    assert await redis_client.xlen(ALERTS_STREAM) == 2
    assert await unrelayed(sessionmaker) == 0


async def test_concurrent_relays_send_each_row_once(sessionmaker, redis_client):
    async with unit_of_work(sessionmaker) as s:
        for i in range(60):
            await ingest(s, quake_doc(f"C{i}", f"c{i}"))
    counts = await asyncio.gather(*(relay_outbox(sessionmaker, redis_client, batch=7) for _ in range(4)))
    assert sum(counts) == 60
    entries = await redis_client.xrange(ALERTS_STREAM)
    ids = [int(f[b"alert_id"]) for _, f in entries]
    assert len(ids) == len(set(ids)) == 60
    async with sessionmaker() as s:
        assert (await s.execute(select(AlertOutbox).where(AlertOutbox.relayed_at.is_(None)))).first() is None


async def test_relay_cancelled_after_its_xadd_still_marks_the_rows(sessionmaker, redis_client, monkeypatch):
    """A poll cancelled (shutdown, timeout) between the XADD and the commit must not leave the
    rows unmarked, to be put on the stream a second time by the next relay."""
    import alerts.events.outbox as outbox

    published = asyncio.Event()
    real_publish = outbox.publish_many

    async def publish_then_pause(*args, **kwargs):
        ids = await real_publish(*args, **kwargs)
        published.set()
        await asyncio.sleep(0.2)  # the caller is cancelled here, before the commit
        return ids

    monkeypatch.setattr(outbox, "publish_many", publish_then_pause)
    async with unit_of_work(sessionmaker) as s:
        await ingest(s, quake_doc("X1", "x1"))
    task = asyncio.create_task(relay_outbox(sessionmaker, redis_client))
    await published.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if await unrelayed(sessionmaker) == 0:
            break
        await asyncio.sleep(0.05)
    assert await unrelayed(sessionmaker) == 0
    assert await relay_outbox(sessionmaker, redis_client) == 0
    assert await redis_client.xlen(ALERTS_STREAM) == 1


async def test_entry_lost_by_redis_is_relayed_again_until_fanned_out(sessionmaker, redis_client):
    from alerts.events.outbox import rerelay_lost_entries

    async with unit_of_work(sessionmaker) as s:
        lost = await ingest(s, quake_doc("ev-lost", "lost-1"))
        kept = await ingest(s, quake_doc("ev-kept", "kept-1"))
        done = await ingest(s, quake_doc("ev-done", "done-1"))
    assert await relay_outbox(sessionmaker, redis_client) == 3
    entries = await redis_client.xrange(ALERTS_STREAM)
    by_alert = {int(f[b"alert_id"]): eid for eid, f in entries}
    # Redis loses one entry (restart without persistence); another alert was fully delivered.
    await redis_client.xdel(ALERTS_STREAM, by_alert[lost.alert_id], by_alert[done.alert_id])
    async with sessionmaker() as s, s.begin():
        await s.execute(text("UPDATE alerts SET fanned_out_at = now() WHERE id = :id"), {"id": done.alert_id})
    # Within the grace period nothing is touched.
    assert await rerelay_lost_entries(sessionmaker, redis_client) == 0
    assert await rerelay_lost_entries(sessionmaker, redis_client, grace_seconds=0) == 1
    again = [int(f[b"alert_id"]) for _, f in await redis_client.xrange(ALERTS_STREAM)]
    assert sorted(again) == sorted([kept.alert_id, lost.alert_id])
    # The re-published entry is in the stream now: a second check finds nothing lost.
    assert await rerelay_lost_entries(sessionmaker, redis_client, grace_seconds=0) == 0
