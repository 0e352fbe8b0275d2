"""GET/PUT /v1/me/preferences and the pull endpoint GET /v1/me/alerts?since=."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from alerts.delivery.service import fan_out
from tests.alerts.delivery.conftest import IWAKI, _place, store, tsunami_doc

NOON = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


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


async def test_pull_returns_told_alerts_with_state_and_a_cursor(app, client, resident, redis_client):
    headers, body = resident
    sm = app.state.sessionmaker
    async with sm() as s, s.begin():
        rid = (await s.execute(text("SELECT resident_id FROM devices WHERE id = :d"), {"d": body["device_id"]})).scalar_one()
        await _place(s, rid, "home", IWAKI, None)
    a1 = await store(sm, tsunami_doc("t1", "warning"))
    await fan_out(sm, redis_client, a1, now=NOON)
    r = await client.get("/v1/me/alerts", headers=headers)
    assert r.status_code == 200, r.text
    page = r.json()
    (item,) = page["alerts"]
    assert item["alert_id"] == a1 and item["event_state"] == "active" and item["delivery"]["status"] == "told"
    cursor = page["cursor"]
    r = await client.get("/v1/me/alerts", params={"since": cursor}, headers=headers)
    assert r.json()["alerts"] == []
    cancel = await store(sm, tsunami_doc("t2", "warning", msg_type="cancel", issued_at="2026-11-22T10:05:00+09:00"))
    await fan_out(sm, redis_client, cancel, now=NOON)
    r = await client.get("/v1/me/alerts", params={"since": cursor}, headers=headers)
    (item,) = r.json()["alerts"]
    assert item["event_state"] == "cancelled" and item["delivery"]["status"] == "cancelled"
    assert item["alert_id"] == cancel


async def test_pull_with_a_bad_cursor_is_400(client, resident):
    headers, _ = resident
    for bad in ("nonsense", "!!!", "MTIz"):
        r = await client.get("/v1/me/alerts", params={"since": bad}, headers=headers)
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["code"] == "bad_cursor"
