"""GET/PUT /v1/me/preferences and the pull endpoint GET /v1/me/alerts?since=."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sqlalchemy import text

from alerts.delivery.service import fan_out
from tests.kits.calls import count_calls
from tests.kits.delivery import FUKUSHIMA_CITY, IWAKI, _place, quake_doc, store, tsunami_doc, weather_doc


async def test_preferences_default_then_saved(client, resident):
    headers, _ = resident
    r = await client.get("/v1/me/preferences", headers=headers)
    assert r.status_code == 200
    assert r.json()["preferences"]["seismic_min_intensity"] == "3"
    body = {"categories": {"weather_warning": False}, "quiet_hours": {"start": "22:00", "end": "06:30"}}
    r = await client.put("/v1/me/preferences", json=body, headers=headers)
    assert r.status_code == 200, r.text
    r = await client.get("/v1/me/preferences", headers=headers)
    assert r.json()["preferences"]["categories"] == {"weather_warning": False}
    assert r.json()["preferences"]["quiet_hours"]["tz"] == "Asia/Tokyo"


async def test_bad_preferences_are_4xx_with_a_message(client, resident):
    headers, _ = resident
    for bad in (
        {"categories": {"ufo": True}},
        {"seismic_min_intensity": "8"},
        {"quiet_hours": {"start": "25:00", "end": "06:00"}},
        {"quiet_hours": {"start": "22:00", "end": "06:00", "tz": "Mars/Base"}},
        {"weather_min_level": "loud"},
        {"surprise": 1},
        {"seismic_thresholds": {"abc": "4"}},
    ):
        r = await client.put("/v1/me/preferences", json=bad, headers=headers)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["code"] == "invalid_preferences"
    r = await client.put("/v1/me/preferences", json={"seismic_thresholds": {"999999": "4"}}, headers=headers)
    assert r.status_code == 400 and r.json()["code"] == "unknown_place"
    r = await client.get("/v1/me/preferences")
    assert r.status_code == 401


def jst(minutes: float = 0) -> str:
    """An ISO time with +09:00, ``minutes`` from now (the pull judges "in force" by the clock)."""
    return (datetime.now(UTC) + timedelta(minutes=minutes)).astimezone(timezone(timedelta(hours=9))).isoformat(timespec="seconds")


async def _my_resident_id(sm, body) -> int:
    async with sm() as s:
        return (await s.execute(text("SELECT resident_id FROM devices WHERE id = :d"), {"d": body["device_id"]})).scalar_one()


async def _add_place(sm, rid, area, kind="home") -> int:
    async with sm() as s, s.begin():
        return await _place(s, rid, kind, area, None)


def _fingerprint(cursor: str) -> str:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":")[2]


async def _pull(client, headers, since=None):
    """The pull through the app's fast path, checked against the route's own answer."""
    r = await client.get("/v1/me/alerts", params={"since": since} if since else None, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    page = r.json()
    slow = await _ROUTES_CLIENT[0].get("/v1/me/alerts", params={"since": since} if since else None, headers=headers)
    assert slow.status_code == 200, slow.text
    other = slow.json()
    # The cursor's time is read per request; its fingerprint (what the list holds) is not.
    assert _fingerprint(other.pop("cursor")) == _fingerprint(page["cursor"])
    assert other == {k: v for k, v in page.items() if k != "cursor"}
    return page


_ROUTES_CLIENT: list = [None]


@pytest.fixture(autouse=True)
def _compare_with_the_route(routes_client):
    _ROUTES_CLIENT[0] = routes_client
    yield
    _ROUTES_CLIENT[0] = None


async def test_pull_returns_told_alerts_with_state_and_a_cursor(app, client, resident, redis_client):
    headers, body = resident
    sm = app.state.sessionmaker
    await _add_place(sm, await _my_resident_id(sm, body), IWAKI)
    a1 = await store(sm, tsunami_doc("t1", "warning", issued_at=jst(-5)))
    await fan_out(sm, redis_client, a1)
    page = await _pull(client, headers)
    (item,) = page["alerts"]
    assert page["complete"] is True
    assert item["alert_id"] == a1 and item["event_state"] == "active" and item["in_force"] is True
    assert item["delivery"]["status"] == "told" and item["now"]["rank"] == 3 and item["now"]["life_critical"] is True
    cursor = page["cursor"]
    again = await _pull(client, headers, cursor)
    assert again["alerts"] == [] and again["complete"] is False  # nothing changed
    cancel = await store(sm, tsunami_doc("t2", "warning", msg_type="cancel", issued_at=jst(-1)))
    await fan_out(sm, redis_client, cancel)
    page = await _pull(client, headers, cursor)
    (item,) = page["alerts"]
    assert item["event_state"] == "cancelled" and item["in_force"] is False and item["delivery"]["status"] == "cancelled"
    assert item["alert_id"] == cancel


@pytest.mark.parametrize("pause_s", [0.0, 1.2], ids=["horizon-reused", "horizon-read-again"])
async def test_a_change_committed_after_a_pull_read_comes_with_the_next_pull(app, client, resident, redis_client, pause_s):
    """A writer (a fan-out chunk) that began before a pull read and committed after it: the
    pull cannot see its change, so the cursor's time must not pass the writer's start, or the
    next pull would skip the change for good. The same whether the fast path reuses the
    horizon it read a moment ago or reads it again while the writer is open."""
    headers, body = resident
    sm = app.state.sessionmaker
    rid = await _my_resident_id(sm, body)
    await _add_place(sm, rid, IWAKI)
    a1 = await store(sm, tsunami_doc("t1", "warning", issued_at=jst(-5)))
    await fan_out(sm, redis_client, a1)
    first = await _pull(client, headers)
    assert first["alerts"][0]["delivery"]["status"] == "told"
    await asyncio.sleep(pause_s)
    async with sm() as writer, writer.begin():
        await writer.execute(text("UPDATE deliveries SET status = 'lowered', updated_at = now() WHERE resident_id = :r"),
                             {"r": rid})
        during = await _pull(client, headers, first["cursor"])
        assert during["alerts"] == []  # not committed yet: nothing changed as far as the pull can see
    after = await _pull(client, headers, during["cursor"])
    (item,) = after["alerts"]
    assert item["delivery"]["status"] == "lowered"


async def test_the_fast_path_reads_the_horizon_at_most_once_a_second(app, monkeypatch):
    """pg_stat_activity is read again only when the last read is over a second old, or was made
    after the list's own clock (a read after the rows could miss a writer)."""
    from alerts.delivery import pull, pull_repository

    reads = count_calls(monkeypatch, pull_repository, "horizon")
    shared = pull.SharedHorizon()
    async with app.state.raw_pg.acquire() as raw:
        now = await raw.fetchval("SELECT clock_timestamp()")
        first = await pull.read_horizon(raw, now, shared)
        assert len(reads) == 1 and first <= now
        assert await pull.read_horizon(raw, now + timedelta(milliseconds=900), shared) == shared.read[1]
        assert len(reads) == 1
        await pull.read_horizon(raw, now + timedelta(seconds=2), shared)
        assert len(reads) == 2
        await pull.read_horizon(raw, shared.read[0] - timedelta(milliseconds=1), shared)  # a clock before the read
        assert len(reads) == 3
        await pull.read_horizon(raw, now)  # nothing shared: always read
        assert len(reads) == 4


async def test_pull_shows_what_is_in_force_even_if_no_push_told_them(app, client, resident, redis_client):
    """Muted by preferences, or a place registered after the alert went out: the pull still
    lists the alert for that place, with no delivery, and says why it was not pushed."""
    headers, body = resident
    sm = app.state.sessionmaker
    rid = await _my_resident_id(sm, body)
    await _add_place(sm, rid, FUKUSHIMA_CITY)
    r = await client.put("/v1/me/preferences", json={"seismic_min_intensity": "5-"}, headers=headers)
    assert r.status_code == 200, r.text
    quake = await store(sm, quake_doc("q1", {"250": "4", "251": "3"}, event_id="q-pull", issued_at=jst(-3)))
    tsunami = await store(sm, tsunami_doc("t1", "advisory", issued_at=jst(-2), event_id="t-pull"))
    for a in (quake, tsunami):
        await fan_out(sm, redis_client, a)
    first = await _pull(client, headers)
    (item,) = first["alerts"]  # the tsunami advisory is for the coast: not their place
    assert item["alert_id"] == quake and item["delivery"] is None
    assert item["now"]["rank"] > 0 and item["now"]["muted"] is True and item["now"]["place_ids"]
    assert (await _pull(client, headers, first["cursor"]))["alerts"] == []

    # A coastal place registered after both alerts went out: the advisory is in force there.
    iwaki = await _add_place(sm, rid, IWAKI, kind="work")
    page = await _pull(client, headers, first["cursor"])
    assert page["complete"] is True  # the list itself changed: replace it
    got = {i["alert_id"]: i for i in page["alerts"]}
    assert set(got) == {quake, tsunami}
    assert got[tsunami]["delivery"] is None and got[tsunami]["now"]["place_ids"] == [iwaki]
    assert got[tsunami]["now"]["muted"] is False and got[tsunami]["now"]["rank"] == 2

    # Place gone: the advisory leaves the list (a complete list, so the app drops it).
    async with sm() as s, s.begin():
        await s.execute(text("DELETE FROM places WHERE id = :p"), {"p": iwaki})
    page = await _pull(client, headers, page["cursor"])
    assert page["complete"] is True and [i["alert_id"] for i in page["alerts"]] == [quake]


async def test_pull_leaves_out_expired_and_lifted_alerts_unless_they_were_told(app, client, resident, redis_client):
    headers, body = resident
    sm = app.state.sessionmaker
    rid = await _my_resident_id(sm, body)
    await _add_place(sm, rid, FUKUSHIMA_CITY)
    await store(sm, quake_doc("q-old", {"250": "5-"}, event_id="q-old", issued_at=jst(-60 * 25)))  # no expiry, a day ago
    lifted = await store(sm, weather_doc("w1", [("大雨注意報", "解除")], issued_at=jst(-10), event_id="w-lifted"))
    heavy = await store(sm, weather_doc("w2", [("大雨警報", "発表")], issued_at=jst(-10), event_id="w-told"))
    for a in (lifted, heavy):  # the old one ran out before anybody was told
        await fan_out(sm, redis_client, a)
    page = await _pull(client, headers)
    assert [i["alert_id"] for i in page["alerts"]] == [heavy]
    cleared = await store(sm, weather_doc("w3", [("大雨警報", "解除")], issued_at=jst(-1), event_id="w-told"))
    await fan_out(sm, redis_client, cleared)
    page = await _pull(client, headers, page["cursor"])
    (item,) = page["alerts"]  # lifted for them, but they were told: they see the all-clear
    assert item["alert_id"] == cleared and item["now"]["rank"] == 0 and item["delivery"]["status"] == "cleared"


async def test_pull_keeps_what_they_were_told_while_in_force_and_a_day_after(app, client, resident, redis_client):
    # Told long ago of a warning still in force: listed. Told of events that ended more than a
    # day ago (cleared, or ran out): not listed, however long the resident's history grows.
    headers, body = resident
    sm = app.state.sessionmaker
    rid = await _my_resident_id(sm, body)
    await _add_place(sm, rid, FUKUSHIMA_CITY)
    ids = {}
    for key, expires in (("long", 5 * 60), ("cleared", 5 * 60), ("ran-out", -30 * 60), ("just-ended", -2 * 60)):
        doc = {**weather_doc(f"w-{key}", [("大雨警報", "発表")], issued_at=jst(-31 * 60), event_id=f"w-{key}"),
               "expires_at": jst(expires)}
        ids[key] = await store(sm, doc)
        await fan_out(sm, redis_client, ids[key], now=datetime.now(UTC) - timedelta(hours=31))
    ids["cleared-end"] = await store(sm, weather_doc("w-cleared-2", [("大雨警報", "解除")], issued_at=jst(-30 * 60),
                                                     event_id="w-cleared"))
    await fan_out(sm, redis_client, ids["cleared-end"], now=datetime.now(UTC) - timedelta(hours=30))
    async with sm() as s, s.begin():  # all of it happened a day and more ago
        await s.execute(text("UPDATE deliveries SET updated_at = now() - interval '30 hours' WHERE resident_id = :r"),
                        {"r": rid})
        await s.execute(text("UPDATE alert_events SET updated_at = now() - interval '30 hours'"))
        told = (await s.execute(text("SELECT count(*) FROM deliveries WHERE resident_id = :r AND status = 'told'"),
                                {"r": rid})).scalar_one()
    assert told == 3  # and the cleared one is "cleared"
    page = await _pull(client, headers)
    shown = {i["alert_id"]: i for i in page["alerts"]}
    assert set(shown) == {ids["long"], ids["just-ended"]}
    assert shown[ids["long"]]["in_force"] and shown[ids["long"]]["delivery"]["status"] == "told"
    assert not shown[ids["just-ended"]]["in_force"] and shown[ids["just-ended"]]["event_state"] == "expired"


async def test_pull_matches_a_cap_polygon_not_the_whole_city(app, client, resident, redis_client):
    headers, body = resident
    sm = app.state.sessionmaker
    rid = await _my_resident_id(sm, body)
    await _add_place(sm, rid, {**FUKUSHIMA_CITY, "lon": 140.470, "lat": 37.760})  # 福島市, outside the district
    ring = [[140.476, 37.728], [140.498, 37.728], [140.498, 37.746], [140.476, 37.746], [140.476, 37.728]]
    order = await store(
        sm,
        {
            "source": "cap", "file": None, "msg_type": "alert", "event_id": "cap-pull-1", "source_id": "cap-pull-1",
            "issued_at": jst(-1), "category": "evacuation", "headline": "避難指示 渡利地区", "severity": "Severe",
            "expires_at": jst(120), "areas": [{"code": "072010", "name": "福島市", "kind": "municipality"}],
            "geometry": {"type": "Polygon", "coordinates": [ring]}, "status": "Actual", "is_drill": False,
            "title": "避難情報", "level": 4,
        },
    )
    await fan_out(sm, redis_client, order)
    assert (await _pull(client, headers))["alerts"] == []
    inside = await _add_place(sm, rid, {**FUKUSHIMA_CITY, "lon": 140.487, "lat": 37.737}, kind="work")
    (item,) = (await _pull(client, headers))["alerts"]
    assert item["alert_id"] == order and item["now"]["place_ids"] == [inside] and item["now"]["rank"] == 4


async def test_pull_with_a_bad_cursor_is_400(client, resident):
    headers, _ = resident
    for bad in ("nonsense", "!!!", "MTIz"):
        r = await client.get("/v1/me/alerts", params={"since": bad}, headers=headers)
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["code"] == "bad_cursor"


async def test_pull_titles_each_alert_in_the_devices_language(app, client, redis_client):
    r = await client.post("/v1/devices", json={"platform": "android", "fcm_token": "tok-vi-pull", "language": "vi"})
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    sm = app.state.sessionmaker
    await _add_place(sm, await _my_resident_id(sm, r.json()), IWAKI)
    a1 = await store(sm, tsunami_doc("t-vi", "warning", issued_at=jst(-5)))
    await fan_out(sm, redis_client, a1)
    (item,) = (await _pull(client, headers))["alerts"]
    assert item["title"] and "津波警報" not in item["title"]  # the danger named in Vietnamese
    assert item["headline"] == "津波警報を発表しました。" and item["headline_language"] == "ja"
    assert item["now"]["level"] == 4 and item["now"]["life_critical"]


async def test_the_pull_is_answered_by_its_fast_path_and_anything_unusual_by_the_route(app, client, resident, monkeypatch):
    """A known device pulling with a readable cursor (or none) never reaches the route; an
    unknown token, a bad cursor, an over-long one or an unknown parameter does, and gets
    the route's own answer."""
    from alerts.delivery import pull

    headers, _ = resident
    first = await _pull(client, headers)
    calls = count_calls(monkeypatch, pull, "my_alerts")
    assert (await client.get("/v1/me/alerts", headers=headers)).status_code == 200
    assert (await client.get("/v1/me/alerts", params={"since": first["cursor"]}, headers=headers)).status_code == 200
    assert calls == []
    r = await client.get("/v1/me/alerts", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json()["code"] == "unauthorized" and r.headers["www-authenticate"] == "Bearer"
    assert (await client.get("/v1/me/alerts")).status_code == 401
    assert (await client.get("/v1/me/alerts", headers={"Authorization": "Basic x"})).status_code == 401
    r = await client.get("/v1/me/alerts", params={"since": "not-a-cursor"}, headers=headers)
    assert r.status_code == 400 and r.json()["code"] == "bad_cursor"
    r = await client.get("/v1/me/alerts", params={"since": "x" * 129}, headers=headers)
    assert r.status_code == 422
    r = await client.get("/v1/me/alerts?since=a&since=b", headers=headers)
    assert r.status_code == 400 and r.json()["code"] == "bad_cursor"  # the route reads the last one
    r = await client.get("/v1/me/alerts", params={"page": "2"}, headers=headers)
    assert r.status_code == 200 and len(calls) == 3  # the route, which ignores what it does not know
