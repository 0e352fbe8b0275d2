"""Lanes on the real path: relay → lane streams, fan-out → push jobs in the alert's lane,
the sender (local FCM server) — critical first, per-resident order, yielding fan-outs,
the public latency figures."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import text

from alerts.delivery.service import fan_out
from alerts.events.outbox import relay_outbox
from server import lanes
from server.lanes import ALERT, BULK, CRITICAL
from my_evacuation.push.notifications import NotificationItem, enqueue_notification, relay_notifications
from my_evacuation.push.jobs import PUSH_GROUP, PUSH_STREAM, parse_job
from server.streams import ensure_group, publish
from server.worker import Worker, WorkerContext
from tests.kits.delivery import FUKUSHIMA_CITY, IWAKI, add_household, pushes, store, tsunami_doc, weather_doc

NOON = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)  # 12:00 JST


def jobs_on(entries) -> list[list[int]]:
    return [parse_job({k.decode(): v.decode() for k, v in f.items()}) for _, f in entries]


async def test_the_relay_routes_a_life_critical_alert_to_the_critical_lane(committed, redis_client):
    warning = await store(committed, tsunami_doc("t1", "warning"))
    rain = await store(committed, weather_doc("w1", [("大雨警報", "発表")], issued_at="2026-11-22T11:00:00+09:00"))
    assert await relay_outbox(committed, redis_client) == 2
    critical = await redis_client.xrange("alerts:new:critical")
    assert [int(f[b"alert_id"]) for _, f in critical] == [warning]
    # alerts:new still carries every alert (other consumer groups read it), the routed one marked.
    topic = {int(f[b"alert_id"]): (f[b"lane"].decode(), f[b"routed"].decode()) for _, f in await redis_client.xrange("alerts:new")}
    assert topic == {warning: (CRITICAL, "1"), rain: (ALERT, "0")}
    async with committed() as s:
        refs = dict((await s.execute(text("SELECT alert_id, stream_entry_id FROM alert_outbox"))).all())
    assert refs[warning] == f"critical:{critical[0][0].decode()}"


async def test_a_routed_alert_is_fanned_out_once_by_whichever_copy_comes_first(committed, redis_client, settings, engine):
    from alerts.delivery.tasks import STREAM_HANDLERS

    await add_household(committed, places={"home": IWAKI})
    aid = await store(committed, tsunami_doc("t1", "warning"))
    delivery = [h for h in STREAM_HANDLERS if h.lane_of == lanes.ALERTS_STREAM]
    for h in delivery:  # as a running worker has
        await ensure_group(redis_client, h.stream, h.group)
    await relay_outbox(committed, redis_client)
    ctx = WorkerContext(settings=settings, engine=engine, sessionmaker=committed, redis=redis_client, name="route-1")
    w = Worker(ctx, delivery, [])
    task = asyncio.create_task(w.run())
    try:
        for _ in range(500):
            done = all(
                [(await redis_client.xpending(h.stream, h.group))["pending"] == 0 for h in delivery]
            ) and await redis_client.xlen(lanes.stream_for(PUSH_STREAM, CRITICAL, lanes_on=True)) > 0
            if done:
                break
            await asyncio.sleep(0.02)
    finally:
        w.stop.set()
        await asyncio.wait_for(task, 40)
    assert len(await pushes(committed, aid)) == 1
    assert await redis_client.get(f"bousai:fanout:{aid}") == b"alerts:new:critical"


async def test_a_critical_push_queued_behind_50_bulk_jobs_is_sent_first(
    committed, redis_client, settings, engine, fcm_sender, local_fcm
):
    from my_evacuation.push.tasks import STREAM_HANDLERS

    # 50 residents with a bulk notification each, published as 50 separate jobs.
    homes = [await add_household(committed, places={"home": FUKUSHIMA_CITY}, devices=[(f"bulk{i}", "ja")]) for i in range(50)]
    async with committed() as s, s.begin():
        await enqueue_notification(s, [NotificationItem(h.resident_id, "tip", "tip") for h in homes], kind="tip", dedupe_key="t")
    for h in STREAM_HANDLERS:
        await ensure_group(redis_client, h.stream, h.group)
    await relay_notifications(committed, redis_client)
    bulk_stream = lanes.stream_for(PUSH_STREAM, BULK, lanes_on=True)
    (ids,) = jobs_on(await redis_client.xrange(bulk_stream))
    await redis_client.delete(bulk_stream)
    await ensure_group(redis_client, bulk_stream, PUSH_GROUP)
    for i in ids:
        await publish(redis_client, bulk_stream, {"ids": str(i), "lane": BULK})
    # Then a 津波警報 to a coastal household: its job goes in the critical lane.
    coast = await add_household(committed, places={"home": IWAKI}, devices=[("coast", "ja")])
    aid = await store(committed, tsunami_doc("t1", "warning"))
    await fan_out(committed, redis_client, aid, now=NOON)
    assert await redis_client.xlen(lanes.stream_for(PUSH_STREAM, CRITICAL, lanes_on=True)) == 1

    ctx = WorkerContext(settings=settings, engine=engine, sessionmaker=committed, redis=redis_client, name="cb50")
    ctx.resources["push.sender"] = fcm_sender
    w = Worker(ctx, STREAM_HANDLERS, [])
    task = asyncio.create_task(w.run())
    try:
        for _ in range(1500):
            if len(local_fcm.state.messages) >= 51:
                break
            await asyncio.sleep(0.02)
    finally:
        w.stop.set()
        await asyncio.wait_for(task, 40)
        ctx.resources.clear()  # the fixture closes the sender
    sent = local_fcm.state.messages
    assert len(sent) == 51
    tokens = [(m["message"] if "message" in m else m)["token"] for m in sent]
    assert tokens[0] == f"coast-{coast.resident_id}-0"
    async with committed() as s:
        first_bulk, critical_at = (
            await s.execute(
                text(
                    "SELECT min(sent_at) FILTER (WHERE notification_id IS NOT NULL), "
                    "min(sent_at) FILTER (WHERE alert_id = :a) FROM push_messages"
                ),
                {"a": aid},
            )
        ).one()
    assert critical_at < first_bulk


async def test_an_older_product_is_not_sent_after_a_newer_one_of_the_same_event(committed, redis_client, fcm_sender, local_fcm):
    home = await add_household(committed, places={"home": IWAKI}, devices=[("ord", "ja")])
    advisory = await store(committed, tsunami_doc("t1", "advisory"))
    await fan_out(committed, redis_client, advisory, now=NOON)
    warning = await store(committed, tsunami_doc("t2", "warning", issued_at="2026-11-22T10:05:00+09:00"))
    await fan_out(committed, redis_client, warning, now=NOON)
    by_alert = {p["alert_id"]: p for p in await pushes(committed)}
    assert by_alert[advisory]["data"]["lane"] == ALERT and by_alert[warning]["data"]["lane"] == CRITICAL
    # The critical lane is faster: the 津波警報 leaves first; the 注意報's job comes after.
    await fcm_sender.send_job([by_alert[warning]["id"]], lane=CRITICAL)
    late = await fcm_sender.send_job([by_alert[advisory]["id"]], lane=ALERT)
    assert late.superseded == 1 and late.ok == 0
    sent = [(m["message"] if "message" in m else m) for m in local_fcm.state.messages]
    assert [m["data"]["alert_id"] for m in sent] == [str(warning)]
    statuses = {p["alert_id"]: p["status"] for p in await pushes(committed)}
    assert statuses == {advisory: "superseded", warning: "ok"}
    assert home.devices


async def test_the_older_product_still_goes_when_it_is_first(committed, redis_client, fcm_sender, local_fcm):
    await add_household(committed, places={"home": IWAKI}, devices=[("ord", "ja")])
    advisory = await store(committed, tsunami_doc("t1", "advisory"))
    await fan_out(committed, redis_client, advisory, now=NOON)
    warning = await store(committed, tsunami_doc("t2", "warning", issued_at="2026-11-22T10:05:00+09:00"))
    await fan_out(committed, redis_client, warning, now=NOON)
    by_alert = {p["alert_id"]: p for p in await pushes(committed)}
    await fcm_sender.send_job([by_alert[advisory]["id"]], lane=ALERT)
    await fcm_sender.send_job([by_alert[warning]["id"]], lane=CRITICAL)
    sent = [(m["message"] if "message" in m else m) for m in local_fcm.state.messages]
    assert [m["data"]["alert_id"] for m in sent] == [str(advisory), str(warning)]


async def test_a_non_critical_fan_out_yields_while_critical_work_waits(committed, redis_client):
    await add_household(committed, places={"home": FUKUSHIMA_CITY})
    rain = await store(committed, weather_doc("w1", [("大雨警報", "発表")], issued_at="2026-11-22T11:00:00+09:00"))
    critical = lanes.stream_for(PUSH_STREAM, CRITICAL, lanes_on=True)
    await ensure_group(redis_client, critical, PUSH_GROUP)
    await publish(redis_client, critical, {"ids": "999999", "lane": CRITICAL})  # critical work waiting
    lanes.gate_for(redis_client)._checked = 0.0
    task = asyncio.create_task(fan_out(committed, redis_client, rain, now=NOON))
    await asyncio.sleep(0.5)
    assert not task.done()
    assert await pushes(committed, rain) == []  # no chunk written while the EEW's job waits
    (_, [(entry, _)]), = await redis_client.xreadgroup(PUSH_GROUP, "c", {critical: ">"}, count=1)
    await redis_client.xack(critical, PUSH_GROUP, entry)
    stats = await asyncio.wait_for(task, 10)
    assert stats.pushes == 1
    assert (await pushes(committed, rain))[0]["data"]["lane"] == ALERT


async def _rows_locked(committed, ids) -> bool:
    """Does another transaction hold any of these push rows?"""
    async with committed() as session, session.begin():
        free = (await session.execute(
            text("SELECT id FROM push_messages WHERE id = ANY(:ids) FOR UPDATE SKIP LOCKED"), {"ids": ids}
        )).all()
    return len(free) < len(ids)


async def test_a_non_critical_push_job_holds_no_rows_while_critical_work_waits(committed, redis_client, fcm_sender, local_fcm):
    await add_household(committed, places={"home": FUKUSHIMA_CITY}, devices=[("rain", "ja")])
    rain = await store(committed, weather_doc("w1", [("大雨警報", "発表")], issued_at="2026-11-22T11:00:00+09:00"))
    await fan_out(committed, redis_client, rain, now=NOON)
    ids = [p["id"] for p in await pushes(committed, rain)]
    critical = lanes.stream_for(PUSH_STREAM, CRITICAL, lanes_on=True)
    await ensure_group(redis_client, critical, PUSH_GROUP)
    await publish(redis_client, critical, {"ids": "999999", "lane": CRITICAL})  # critical work waiting
    fcm_sender.gate._checked = 0.0
    task = asyncio.create_task(fcm_sender.send_job(ids, lane=ALERT))
    await asyncio.sleep(0.5)
    assert not task.done()
    # Waiting, it has claimed nothing: no row lock, no transaction, no connection of the pool.
    assert not await _rows_locked(committed, ids)
    assert {p["status"] for p in await pushes(committed, rain)} == {"queued"}
    assert local_fcm.state.messages == []
    (_, [(entry, _)]), = await redis_client.xreadgroup(PUSH_GROUP, "c", {critical: ">"}, count=1)
    await redis_client.xack(critical, PUSH_GROUP, entry)
    out = await asyncio.wait_for(task, 10)
    assert out.ok == 1 and {p["status"] for p in await pushes(committed, rain)} == {"ok"}


async def test_a_job_that_claimed_as_critical_work_arrived_gives_its_rows_back_unsent(
    committed, redis_client, fcm_sender, local_fcm, monkeypatch
):
    await add_household(committed, places={"home": FUKUSHIMA_CITY}, devices=[("rain", "ja")])
    rain = await store(committed, weather_doc("w1", [("大雨警報", "発表")], issued_at="2026-11-22T11:00:00+09:00"))
    await fan_out(committed, redis_client, rain, now=NOON)
    ids = [p["id"] for p in await pushes(committed, rain)]
    gate = fcm_sender.gate
    # The gate as the job sees it: clear before the claim, busy right after it (an EEW
    # arrived in between), then clear again once the EEW's work is done.
    looks = iter([False, True, True, False])
    seen_while_busy: list[tuple[bool, set[str]]] = []

    async def busy() -> bool:
        b = next(looks, False)
        if b:
            seen_while_busy.append((await _rows_locked(committed, ids), {p["status"] for p in await pushes(committed, rain)}))
        return b

    monkeypatch.setattr(gate, "busy", busy)
    monkeypatch.setattr(lanes.lane_settings(), "gate_cache_seconds", 0.01)
    out = await asyncio.wait_for(fcm_sender.send_job(ids, lane=BULK), 10)
    # The first busy look came inside the claiming transaction (its rows locked, unsent);
    # the second after it rolled back: no lock, still queued.
    assert seen_while_busy[0] == (True, {"queued"})
    assert seen_while_busy[1] == (False, {"queued"})
    assert out.ok == 1 and out.claimed == 1
    assert len(local_fcm.state.messages) == 1  # sent once, after the critical work
    assert {p["status"] for p in await pushes(committed, rain)} == {"ok"}


async def test_latency_endpoint_gives_stages_from_receipt_without_personal_data(committed, redis_client, client, fcm_sender):
    for i in range(3):
        await add_household(committed, places={"home": IWAKI}, devices=[(f"lat{i}", "ja")])
    aid = await store(committed, tsunami_doc("t1", "warning"))
    await relay_outbox(committed, redis_client)
    await fan_out(committed, redis_client, aid, now=NOON)
    await fcm_sender.send_job([p["id"] for p in await pushes(committed, aid)], lane=CRITICAL)
    r = await client.get(f"/v1/alerts/{aid}/latency")
    assert r.status_code == 200
    body = r.json()
    assert body["lane"] == CRITICAL and body["complete"] is True
    assert body["pushes"] == {"total": 3, "accepted": 3, "queued": 0, "failed": 0, "superseded": 0}
    rec = body["from_receipt_s"]
    assert 0 <= rec["relayed"] <= rec["first_push"] <= rec["p50_push"] <= rec["p95_push"] <= rec["last_push"]
    assert body["from_report_time_s"]["first_push"] is not None
    flat = r.text
    assert "lat0" not in flat and "resident" not in flat and "device" not in flat
    assert (await client.get("/v1/alerts/999999/latency")).status_code == 404
