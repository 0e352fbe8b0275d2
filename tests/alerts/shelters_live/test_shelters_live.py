"""Shelters live: scoped changes, audit, CAP, and opening notifications told once each."""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree
from sqlalchemy import text

from alerts.events.service import ingest
from alerts.sources.cap import embedded_alerts, parse_alert
from tests.kits.cap import assert_valid
from tests.kits.staff import FUKUSHIMA, FUKUSHIMA_POINT, KORIYAMA, staff_headers
from tests.kits.shelters_live import S_FUK, S_FUK2, S_KOR, add_live_shelters, residents_with_plans

async def test_opening_a_shelter_named_in_1000_plans_tells_each_resident_once(app, client, engine):
    await add_live_shelters(engine)
    planned = await residents_with_plans(engine, S_FUK, 1000)
    other = await residents_with_plans(engine, S_FUK2, 5)  # their plan names another shelter
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    r = await client.post(f"/v1/staff/shelters/{S_FUK}/open", headers=op)
    assert r.status_code == 200, r.text
    assert r.json()["is_open"] is True and r.json()["notified"] == 1000
    # Opening it again (double click, retry) changes nothing and tells nobody again.
    r = await client.post(f"/v1/staff/shelters/{S_FUK}/open", headers=op)
    assert r.status_code == 200 and "notified" not in r.json()
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT resident_id, count(*), min(title), min(kind) FROM notifications GROUP BY resident_id"))).all()
    assert sorted(r[0] for r in rows) == sorted(planned)
    assert all(r[1] == 1 and r[3] == "shelter_open" for r in rows)
    assert not set(other) & {r[0] for r in rows}
    titles = {r[2] for r in rows}
    assert titles == {"避難所開設: 渡利小学校", "Shelter open: 渡利小学校"}


async def test_residents_near_it_under_an_active_alert_are_told(app, client, engine):
    await add_live_shelters(engine)
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    lat, lon = FUKUSHIMA_POINT
    async with engine.begin() as conn:
        near_alert, near_drill, near_quiet, far_alert = [r[0] for r in await conn.execute(text(
            "INSERT INTO residents (language) SELECT 'ja' FROM generate_series(1, 4) RETURNING id"))]
        for rid, dlat in ((near_alert, 0.005), (near_drill, 0.005), (near_quiet, 0.005), (far_alert, 0.2)):
            await conn.execute(text(
                "INSERT INTO places (resident_id, kind, geom, municipality_code) "
                "VALUES (:r, 'home', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :m)"),
                {"r": rid, "lat": lat + dlat, "lon": lon, "m": FUKUSHIMA})
    async with app.state.sessionmaker() as session:
        events = {}
        for key, drill in (("real", False), ("drill", True)):
            res = await ingest(session, {
                "source": "cap", "source_id": f"test,{key},1", "event_id": key, "msg_type": "alert",
                "issued_at": datetime.now(UTC).isoformat(), "category": "heavy_rain", "severity": "Severe",
                "areas": [{"code": FUKUSHIMA}], "is_drill": drill})
            events[key] = (res.event_id, res.alert_id)
        for rid, key in ((near_alert, "real"), (near_drill, "drill"), (far_alert, "real")):
            ev, al = events[key]
            await session.execute(text(
                "INSERT INTO deliveries (resident_id, event_id, category, status, rank, max_rank, first_alert_id, "
                "last_alert_id) VALUES (:r, :e, 'heavy_rain', 'told', 3, 3, :a, :a)"), {"r": rid, "e": ev, "a": al})
        await session.commit()
    r = await client.post(f"/v1/staff/shelters/{S_FUK}/open", headers=op)
    assert r.json()["notified"] == 1
    async with engine.connect() as conn:
        told = [r[0] for r in await conn.execute(text("SELECT resident_id FROM notifications"))]
    assert told == [near_alert]


async def test_scope_audit_and_cap_for_shelter_changes(app, client, engine):
    await add_live_shelters(engine)
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    # Another municipality's shelter does not exist for this operator.
    assert (await client.post(f"/v1/staff/shelters/{S_KOR}/open", headers=op)).status_code == 404
    assert (await client.patch(f"/v1/staff/shelters/{S_KOR}", headers=op, json={"occupancy": 3})).status_code == 404
    listed = (await client.get("/v1/staff/shelters", headers=op)).json()
    assert {s["id"] for s in listed} == {S_FUK, S_FUK2}
    r = await client.get("/v1/staff/shelters", headers=op, params={"municipality_code": KORIYAMA})
    assert r.status_code == 403
    r = await client.patch(f"/v1/staff/shelters/{S_FUK}", headers=op,
                           json={"occupancy": 65, "capacity": 100, "pets_allowed": True, "hazards": ["flood", "earthquake"]})
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["crowding"] == "crowded" and s["pets_allowed"] is True and s["hazards"] == ["flood", "earthquake"]
    assert (await client.patch(f"/v1/staff/shelters/{S_FUK}", headers=op, json={"occupancy": -1})).status_code == 422
    assert (await client.patch(f"/v1/staff/shelters/{S_FUK}", headers=op, json={"hazards": ["lava"]})).status_code == 422
    r = await client.patch(f"/v1/staff/shelters/{S_FUK}", headers=op, json={"occupancy": 100000})
    assert r.status_code == 400 and r.json()["code"] == "invalid_occupancy"
    # Bulk: open every shelter of the municipality, then close them.
    r = await client.post("/v1/staff/shelters/bulk", headers=op, json={"municipality_code": FUKUSHIMA, "action": "open"})
    assert r.json()["changed"] == 2
    r = await client.post("/v1/staff/shelters/bulk", headers=op, json={"municipality_code": KORIYAMA, "action": "open"})
    assert r.status_code == 403
    r = await client.post("/v1/staff/shelters/bulk", headers=op,
                          json={"municipality_code": FUKUSHIMA, "action": "close", "shelter_ids": [S_KOR]})
    assert r.status_code == 400
    r = await client.post("/v1/staff/shelters/bulk", headers=op, json={"municipality_code": FUKUSHIMA, "action": "close"})
    assert r.json()["changed"] == 2
    audit = (await client.get("/v1/staff/audit", headers=op, params={"target_type": "shelter"})).json()
    actions = [e["action"] for e in audit][::-1]
    assert actions == ["shelter.update", "shelter.open", "shelter.open", "shelter.close", "shelter.close"]
    assert audit[-1]["before"]["occupancy"] is None and audit[-1]["after"]["occupancy"] == 65
    # CAP: one document per bulk action, valid, read back as shelter notices.
    feed = etree.fromstring((await client.get("/v1/feeds/cap.atom")).content)
    docs = embedded_alerts(feed)
    assert len(docs) == 2
    for d in docs:
        assert_valid(d)
    parsed = sorted((parse_alert(d) for d in docs), key=lambda p: p.issued_at)
    assert {p.category for p in parsed} == {"shelter"}
    statuses = {tuple(sorted((s["id"], s["status"]) for s in p.shelters)) for p in parsed}
    assert statuses == {((S_FUK, "open"), (S_FUK2, "open")), ((S_FUK, "close"), (S_FUK2, "close"))}
