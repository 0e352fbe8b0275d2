"""Alert and event read endpoints."""

from __future__ import annotations

from alerts.events.service import ingest
from server.db import unit_of_work
from tests.kits.event_docs import quake_doc


async def stored(app, doc):
    async with unit_of_work(app.state.sessionmaker) as s:
        return await ingest(s, doc)


async def test_alert_detail_has_geojson_geometry_and_event_state(app, client):
    doc = quake_doc("API1", "api-1")
    doc["geometry"] = {"type": "Polygon", "coordinates": [[[140.8, 37.0], [140.9, 37.0], [140.9, 37.1], [140.8, 37.0]]]}
    first = await stored(app, doc)
    await stored(app, quake_doc("API1", "api-2", msg_type="cancel", issued_at="2026-11-22T10:05:00+09:00"))
    r = await client.get(f"/v1/alerts/{first.alert_id}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["geometry"]["type"] == "MultiPolygon"
    assert body["area_codes"] == ["250"]
    assert body["event"]["state"] == "cancelled"
    r = await client.get(f"/v1/events/{first.event_id}")
    assert r.status_code == 200
    assert [a["msg_type"] for a in r.json()["alerts"]] == ["alert", "cancel"]


async def test_unknown_or_malformed_ids_are_4xx(client):
    assert (await client.get("/v1/alerts/999999")).json()["code"] == "not_found"
    assert (await client.get("/v1/events/999999")).status_code == 404
    assert (await client.get("/v1/alerts/abc")).status_code == 422
    assert (await client.get(f"/v1/alerts/{2**70}")).status_code == 422
    assert (await client.get("/v1/events/0")).status_code == 422
