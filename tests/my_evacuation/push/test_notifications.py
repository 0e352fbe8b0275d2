"""enqueue_notification: dedupe per (resident, key), nothing before commit, one push per device."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from server.lanes import BULK, stream_for
from my_evacuation.push.notifications import NotificationItem, enqueue_notification, relay_notifications
from my_evacuation.push.jobs import PUSH_STREAM, parse_job
from tests.kits.db import truncate_all


async def make_resident(session, *tokens: str | None, language: str = "ja") -> tuple[int, list[int]]:
    rid = (await session.execute(text("INSERT INTO residents (language) VALUES (:l) RETURNING id"), {"l": language})).scalar_one()
    devices = []
    for tok in tokens:
        did = (
            await session.execute(
                text(
                    "INSERT INTO devices (resident_id, platform, push_kind, push_token, language, token_hash) "
                    "VALUES (:r, 'android', CASE WHEN CAST(:t AS text) IS NULL THEN NULL ELSE 'fcm_token' END, :t, :l, :h) RETURNING id"
                ),
                {"r": rid, "t": tok, "l": language, "h": os.urandom(32)},
            )
        ).scalar_one()
        devices.append(did)
    return rid, devices


@pytest.fixture
async def committed(engine):
    sm = async_sessionmaker(engine, expire_on_commit=False)
    yield sm
    await truncate_all(engine)


async def test_repeat_with_same_dedupe_key_is_skipped(session):
    rid, _ = await make_resident(session, "tok-a")
    item = NotificationItem(resident_id=rid, title="家族", body="母: 無事です", data={"group": "1"})
    assert await enqueue_notification(session, [item], kind="family_status", dedupe_key="s:1") == 1
    assert await enqueue_notification(session, [item], kind="family_status", dedupe_key="s:1") == 0
    assert await enqueue_notification(session, [item], kind="family_status", dedupe_key="s:2") == 1


async def test_empty_or_keyless_input(session):
    assert await enqueue_notification(session, [], kind="x", dedupe_key="k") == 0
    with pytest.raises(ValueError):
        await enqueue_notification(session, [NotificationItem(1, "t", "b")], kind="x", dedupe_key="")


async def test_rolled_back_notification_is_never_relayed(committed, redis_client):
    async with committed() as s, s.begin():
        rid, _ = await make_resident(s, "tok-rb")
    async with committed() as s:
        await enqueue_notification(s, [NotificationItem(rid, "t", "b")], kind="k", dedupe_key="d")
        await s.rollback()
    assert await relay_notifications(committed, redis_client) == 0
    assert await redis_client.xlen(PUSH_STREAM) == 0
    assert await redis_client.xlen(stream_for(PUSH_STREAM, BULK)) == 0


async def test_relay_writes_one_push_per_device_with_a_token(committed, redis_client):
    async with committed() as s, s.begin():
        rid, devices = await make_resident(s, "tok-1", "tok-2", None)
        await enqueue_notification(s, [NotificationItem(rid, "安否確認", "無事ですか?", critical=True)], kind="safety", dedupe_key="c:9")
    assert await relay_notifications(committed, redis_client) == 1
    async with committed() as s:
        rows = (await s.execute(text("SELECT device_id, critical, data, status FROM push_messages ORDER BY device_id"))).all()
        queued_at = (await s.execute(text("SELECT queued_at FROM notifications"))).scalar_one()
    assert [r.device_id for r in rows] == devices[:2]
    assert all(r.critical and r.status == "queued" and r.data["kind"] == "safety" for r in rows)
    assert queued_at is not None
    # Notifications are never hazards: their jobs go in the bulk lane (server.lanes).
    entries = await redis_client.xrange(stream_for(PUSH_STREAM, BULK))
    ids = [i for _, f in entries for i in parse_job({k.decode(): v.decode() for k, v in f.items()})]
    assert len(ids) == 2
    # A second relay finds nothing new.
    assert await relay_notifications(committed, redis_client) == 0
