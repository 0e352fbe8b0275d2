"""The notice preview: who a draft would tell what, by the fan-out's own rules, nothing kept."""

from __future__ import annotations

from sqlalchemy import text

from tests.kits.staff import FUKUSHIMA, FUKUSHIMA_POINT, KORIYAMA, staff_headers


async def _resident_at(client, lon, lat, language="ja"):
    r = await client.post("/v1/devices", json={"platform": "android", "fcm_token": f"tok-{lon}-{lat}-{language}",
                                               "language": language})
    assert r.status_code == 201, r.text
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    r = await client.post("/v1/me/places", headers=headers, json={"kind": "home", "lat": lat, "lon": lon})
    assert r.status_code == 201, r.text


async def test_preview_counts_who_would_be_told_and_sends_nothing(app, client, engine):
    lat, lon = FUKUSHIMA_POINT
    await _resident_at(client, lon, lat)
    await _resident_at(client, lon + 0.0005, lat, language="en")
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    r = await client.post("/v1/staff/notices", headers=op, json={
        "level": 4, "target_kind": "municipality", "municipality_codes": [FUKUSHIMA], "reason": "浸水のおそれ"})
    assert r.status_code == 201, r.text
    nid = r.json()["id"]
    r = await client.post(f"/v1/staff/notices/{nid}/preview", headers=op)
    assert r.status_code == 200, r.text
    seen = r.json()
    assert seen["residents"] == 2 and seen["actions"] == {"new": 2}
    assert seen["life_critical"] is True and seen["level"] == 4  # 避難指示
    assert {m["language"] for m in seen["messages"]} == {"ja", "en"}
    assert any("避難指示" in m["title"] for m in seen["messages"] if m["language"] == "ja")
    async with engine.connect() as conn:
        for table in ("alerts", "alert_events", "deliveries", "push_messages", "cap_messages"):
            assert (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one() == 0, table
    r = await client.get(f"/v1/staff/notices/{nid}", headers=op)
    assert r.json()["state"] == "draft"


async def test_preview_of_another_municipalitys_notice_is_not_found(app, client):
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    r = await client.post("/v1/staff/notices", headers=op, json={
        "level": 3, "target_kind": "municipality", "municipality_codes": [FUKUSHIMA], "reason": "x"})
    other = await staff_headers(app, client, "municipal", KORIYAMA)
    r = await client.post(f"/v1/staff/notices/{r.json()['id']}/preview", headers=other)
    assert r.status_code == 404
