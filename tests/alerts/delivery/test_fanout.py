"""Fan-out transitions against real PostGIS + Redis: new, raise, same, lower, all-clear,
cancel, idempotent re-run, quiet hours, critical only where the device is."""

from __future__ import annotations

from datetime import UTC, datetime

from alerts.delivery.service import fan_out
from server.lanes import CRITICAL, stream_for
from my_evacuation.push.jobs import PUSH_STREAM
from tests.kits.delivery import FUKUSHIMA_CITY, IWAKI, add_household, delivery, pushes, quake_doc, store, tsunami_doc, weather_doc

NOON = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)  # 12:00 JST
NIGHT = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)  # 00:00 JST
QUIET = {"quiet_hours": {"start": "22:00", "end": "07:00"}}


async def test_new_event_notifies_every_device_once(committed, redis_client):
    coast = await add_household(committed, places={"home": IWAKI}, devices=[("tok", "ja"), ("tok", "en"), (None, "ja")])
    inland = await add_household(committed, places={"home": FUKUSHIMA_CITY})
    aid = await store(committed, tsunami_doc("t1", "warning"))
    stats = await fan_out(committed, redis_client, aid, now=NOON)
    sent = await pushes(committed, aid)
    assert stats.matched == 1
    assert sorted(p["device_id"] for p in sent) == coast.devices[:2]
    assert {p["title"] for p in sent} == {"【津波警報】福島県", "Tsunami Warning: 福島県"}
    assert all(p["data"]["alert_id"] == str(aid) and p["data"]["kind"] == "new" for p in sent)
    assert not await delivery(committed, inland.resident_id)
    # A 津波警報 is life-critical: its push job is in the critical lane (server.lanes).
    assert await redis_client.xlen(stream_for(PUSH_STREAM, CRITICAL)) == 1
    assert await redis_client.xlen(PUSH_STREAM) == 0


async def test_running_the_same_alert_twice_pushes_nothing_more(committed, redis_client):
    await add_household(committed, places={"home": IWAKI})
    aid = await store(committed, tsunami_doc("t1", "warning"))
    await fan_out(committed, redis_client, aid, now=NOON)
    again = await fan_out(committed, redis_client, aid, now=NOON)
    assert again.pushes == 0 and again.actions == {"skip": 1}
    assert len(await pushes(committed)) == 1


async def test_update_notifies_only_on_a_rise_then_lowering_and_all_clear_reach_the_told(committed, redis_client):
    h = await add_household(committed, places={"home": IWAKI})
    a1 = await store(committed, tsunami_doc("t1", "advisory", issued_at="2026-11-22T10:00:00+09:00"))
    await fan_out(committed, redis_client, a1, now=NOON)
    a2 = await store(committed, tsunami_doc("t2", "advisory", msg_type="update", issued_at="2026-11-22T10:05:00+09:00"))
    assert (await fan_out(committed, redis_client, a2, now=NOON)).pushes == 0
    a3 = await store(committed, tsunami_doc("t3", "major_warning", msg_type="update", issued_at="2026-11-22T10:10:00+09:00"))
    assert (await fan_out(committed, redis_client, a3, now=NOON)).actions == {"raised": 1}
    a4 = await store(committed, tsunami_doc("t4", "advisory", msg_type="update", issued_at="2026-11-22T10:20:00+09:00"))
    assert (await fan_out(committed, redis_client, a4, now=NOON)).actions == {"lowered": 1}
    a5 = await store(committed, tsunami_doc("t5", "none", msg_type="update", issued_at="2026-11-22T10:30:00+09:00"))
    assert (await fan_out(committed, redis_client, a5, now=NOON)).actions == {"cleared": 1}
    kinds = [p["data"]["kind"] for p in await pushes(committed)]
    assert kinds == ["new", "raised", "lowered", "cleared"]
    (row,) = await delivery(committed, h.resident_id)
    assert row["status"] == "cleared" and row["max_rank"] == 4 and row["messages_sent"] == 4


async def test_all_clear_and_cancel_reach_nobody_who_was_not_told(committed, redis_client):
    told = await add_household(committed, places={"home": IWAKI})
    a1 = await store(committed, tsunami_doc("t1", "warning"))
    await fan_out(committed, redis_client, a1, now=NOON)
    late = await add_household(committed, places={"home": IWAKI})  # registered after the warning
    a2 = await store(committed, tsunami_doc("t2", "none", msg_type="update", issued_at="2026-11-22T10:30:00+09:00"))
    await fan_out(committed, redis_client, a2, now=NOON)
    assert {p["dres"] for p in await pushes(committed, a2)} == {told.resident_id}
    assert not await delivery(committed, late.resident_id)


async def test_cancellation_reaches_exactly_the_told_once(committed, redis_client):
    told = await add_household(committed, places={"home": IWAKI})
    filtered = await add_household(committed, places={"home": IWAKI}, preferences={"categories": {"tsunami": False}})
    a1 = await store(committed, tsunami_doc("t1", "advisory"))
    await fan_out(committed, redis_client, a1, now=NOON)
    cancel = await store(committed, tsunami_doc("t2", "advisory", msg_type="cancel", issued_at="2026-11-22T10:01:00+09:00"))
    stats = await fan_out(committed, redis_client, cancel, now=NOON)
    again = await fan_out(committed, redis_client, cancel, now=NOON)
    sent = await pushes(committed, cancel)
    assert stats.actions == {"cancelled": 1} and again.pushes == 0
    assert [p["dres"] for p in sent] == [told.resident_id]
    assert sent[0]["title"] == "【取消】津波注意報"
    assert not await delivery(committed, filtered.resident_id)


async def test_quiet_hours_hold_back_and_record_ordinary_alerts(committed, redis_client):
    h = await add_household(committed, places={"home": FUKUSHIMA_CITY}, preferences=QUIET)
    aid = await store(committed, weather_doc("w1", [("大雨警報", "発表")], issued_at="2026-11-22T00:00:00+09:00"))
    stats = await fan_out(committed, redis_client, aid, now=NIGHT)
    assert stats.actions == {"held": 1} and stats.pushes == 0
    (row,) = await delivery(committed, h.resident_id)
    assert row["status"] == "held" and row["held_by_quiet_hours"] and row["rank"] == 3  # 警報: level 3


async def test_quiet_hours_never_hold_back_life_critical_alerts(committed, redis_client):
    await add_household(committed, places={"home": IWAKI}, preferences=QUIET | {"categories": {"tsunami": False}})
    aid = await store(committed, tsunami_doc("t1", "major_warning"))
    stats = await fan_out(committed, redis_client, aid, now=NIGHT)
    assert stats.actions == {"new": 1} and stats.pushes == 1


async def test_critical_only_for_the_device_whose_current_location_matched(committed, redis_client):
    h = await add_household(
        committed, places={"home": FUKUSHIMA_CITY}, devices=[("here", "ja"), ("away", "ja")], current={0: IWAKI}
    )
    aid = await store(committed, tsunami_doc("t1", "warning"))
    await fan_out(committed, redis_client, aid, now=NOON)
    by_device = {p["device_id"]: p["critical"] for p in await pushes(committed, aid)}
    assert by_device == {h.devices[0]: True, h.devices[1]: False}


async def test_registered_place_gets_normal_priority_even_for_life_critical(committed, redis_client):
    await add_household(committed, places={"home": IWAKI})
    aid = await store(committed, tsunami_doc("t1", "major_warning"))
    await fan_out(committed, redis_client, aid, now=NOON)
    assert [p["critical"] for p in await pushes(committed, aid)] == [False]


async def test_seismic_threshold_per_place(committed, redis_client):
    # Default threshold 震度3; this resident wants only 5弱+ at home.
    strict = await add_household(committed, places={"home": FUKUSHIMA_CITY}, preferences={"seismic_thresholds": {}})
    picky = await add_household(committed, places={"home": FUKUSHIMA_CITY})
    from sqlalchemy import text

    async with committed() as s, s.begin():
        await s.execute(
            text("UPDATE residents SET preferences = jsonb_build_object('seismic_thresholds', jsonb_build_object(CAST(:p AS text), '5-')) WHERE id = :r"),
            {"p": str(picky.places["home"]), "r": picky.resident_id},
        )
    aid = await store(committed, quake_doc("q1", {"250": "4"}))
    await fan_out(committed, redis_client, aid, now=NOON)
    assert {p["dres"] for p in await pushes(committed, aid)} == {strict.resident_id}
    # The same event reported stronger later reaches the picky resident (a rise for them).
    aid2 = await store(committed, quake_doc("q2", {"250": "5+"}, issued_at="2026-11-22T09:05:00+09:00"))
    stats = await fan_out(committed, redis_client, aid2, now=NOON)
    assert stats.actions == {"new": 1, "raised": 1}


async def test_weather_min_level_and_kinds(committed, redis_client):
    default = await add_household(committed, places={"home": FUKUSHIMA_CITY})
    advisories = await add_household(committed, places={"home": FUKUSHIMA_CITY}, preferences={"weather_min_level": "advisory"})
    only_flood = await add_household(
        committed, places={"home": FUKUSHIMA_CITY}, preferences={"weather_min_level": "advisory", "warning_kinds": ["洪水"]}
    )
    aid = await store(committed, weather_doc("w1", [("大雨注意報", "発表")], issued_at="2026-11-22T10:00:00+09:00"))
    await fan_out(committed, redis_client, aid, now=NOON)
    assert {p["dres"] for p in await pushes(committed, aid)} == {advisories.resident_id}
    aid2 = await store(committed, weather_doc("w2", [("大雨警報", "発表"), ("洪水注意報", "発表")], issued_at="2026-11-22T11:00:00+09:00"))
    await fan_out(committed, redis_client, aid2, now=NOON)
    got = {p["dres"]: p["data"]["kind"] for p in await pushes(committed, aid2)}
    assert got == {default.resident_id: "new", advisories.resident_id: "raised", only_flood.resident_id: "new"}


async def test_drill_reaches_only_drill_opt_ins_labelled_and_never_critical(committed, redis_client):
    opted = await add_household(
        committed, places={"home": IWAKI}, devices=[("tok", "en")], current={0: IWAKI}, preferences={"drills": True}
    )
    plain = await add_household(committed, places={"home": IWAKI})
    aid = await store(committed, tsunami_doc("d1", "major_warning") | {"is_drill": True, "status": "訓練"})
    stats = await fan_out(committed, redis_client, aid, now=NOON)
    sent = await pushes(committed, aid)
    assert [p["device_id"] for p in sent] == opted.devices
    assert sent[0]["title"].startswith("[DRILL 訓練]") and not sent[0]["critical"]
    assert not await delivery(committed, plain.resident_id)
    assert stats.actions == {"new": 1}


async def test_drill_respects_quiet_hours_even_at_a_life_critical_level(committed, redis_client):
    await add_household(committed, places={"home": IWAKI}, preferences=QUIET | {"drills": True})
    aid = await store(committed, tsunami_doc("d2", "major_warning") | {"is_drill": True, "status": "訓練"})
    stats = await fan_out(committed, redis_client, aid, now=NIGHT)
    assert stats.actions == {"held": 1} and stats.pushes == 0


async def test_an_alert_over_before_its_fan_out_tells_nobody(committed, redis_client):
    """A backlog after an outage: a warning that expired at 11:00 reaches the worker at noon."""
    h = await add_household(committed, places={"home": FUKUSHIMA_CITY})
    doc = weather_doc("w-late", [("大雨警報", "発表")], issued_at="2026-11-22T10:00:00+09:00")
    aid = await store(committed, doc | {"expires_at": "2026-11-22T11:00:00+09:00"})
    stats = await fan_out(committed, redis_client, aid, now=NOON)
    assert stats.expired and stats.pushes == 0 and not await pushes(committed)
    assert not await delivery(committed, h.resident_id)
    # The same alert still in force is told as usual.
    live = await store(committed, weather_doc("w-live", [("大雨警報", "発表")], issued_at="2026-11-22T10:00:00+09:00",
                                              event_id="other") | {"expires_at": "2026-11-22T18:00:00+09:00"})
    stats = await fan_out(committed, redis_client, live, now=NOON)
    assert not stats.expired and stats.actions == {"new": 1}
