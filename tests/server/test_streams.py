"""Stream helpers: consumer groups, ack, and taking over a dead consumer's pending entries."""

from __future__ import annotations

import asyncio

from server.streams import ack, claim_stale, consume, ensure_group, publish, publish_many, read_group


async def test_group_reads_each_entry_once_and_ack_clears_pending(redis_client):
    await ensure_group(redis_client, "t:s", "g")
    await ensure_group(redis_client, "t:s", "g")  # idempotent
    await publish_many(redis_client, "t:s", [{"n": 1}, {"n": 2}])
    got = await read_group(redis_client, "t:s", "g", "c1", block_ms=None)
    assert [m.fields["n"] for m in got] == ["1", "2"]
    assert await read_group(redis_client, "t:s", "g", "c2", block_ms=None) == []
    assert await ack(redis_client, "t:s", "g", *(m.id for m in got)) == 2
    assert (await redis_client.xpending("t:s", "g"))["pending"] == 0


async def test_unacked_entries_of_a_dead_consumer_are_claimed(redis_client):
    await ensure_group(redis_client, "t:c", "g")
    await publish(redis_client, "t:c", {"alert_id": "7"})
    read = await read_group(redis_client, "t:c", "g", "dead", block_ms=None)
    assert len(read) == 1
    # Not idle long enough yet: nothing to claim.
    assert await claim_stale(redis_client, "t:c", "g", "alive", min_idle_ms=60_000) == []
    await asyncio.sleep(0.05)
    claimed = await claim_stale(redis_client, "t:c", "g", "alive", min_idle_ms=10)
    assert [m.fields["alert_id"] for m in claimed] == ["7"]
    assert claimed[0].id == read[0].id


async def test_consume_acks_handled_entries_and_leaves_failures_pending(redis_client):
    await publish_many(redis_client, "t:w", [{"ok": "1"}, {"ok": "0"}, {"ok": "1"}])
    seen = []
    stop = asyncio.Event()

    async def handler(msg):
        seen.append(msg.fields["ok"])
        if msg.fields["ok"] == "0":
            raise ValueError("cannot handle")
        if len(seen) >= 3:
            stop.set()

    await ensure_group(redis_client, "t:w", "g")
    await asyncio.wait_for(consume(redis_client, "t:w", "g", "c", handler, stop=stop, block_ms=100), timeout=10)
    assert sorted(seen) == ["0", "1", "1"]
    pending = await redis_client.xpending("t:w", "g")
    assert pending["pending"] == 1
