"""Evacuation information: drafts, the two-person rule, scope, corrections, cancellations, drills."""

from __future__ import annotations

from sqlalchemy import text

from my_evacuation.residents.schemas import LANGUAGES
from tests.kits.staff import FUKUSHIMA, FUKUSHIMA_POINT, KORIYAMA, KORIYAMA_POINT, square, staff_headers


async def _alerts(engine):
    async with engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT a.id, a.source, a.msg_type, a.category, a.area_codes, a.is_drill, a.geom IS NOT NULL AS geom, "
            "a.payload, e.state FROM alerts a JOIN alert_events e ON e.id = a.event_id ORDER BY a.id"))
        return [dict(r._mapping) for r in rows]


def _draft(level=4, **kw):
    body = {"level": level, "target_kind": "polygon", "polygon": square(*FUKUSHIMA_POINT), "reason": "渡利地区で浸水のおそれ"}
    body.update(kw)
    return body


async def test_live_level4_needs_a_second_person_then_issues_through_the_alert_store(app, client, engine):
    op1 = await staff_headers(app, client, "municipal", FUKUSHIMA)
    op2 = await staff_headers(app, client, "municipal", FUKUSHIMA)
    r = await client.post("/v1/staff/notices", headers=op1, json=_draft())
    assert r.status_code == 201, r.text
    n = r.json()
    assert n["state"] == "draft" and n["needs_approval"] and n["municipality_codes"] == [FUKUSHIMA]
    r = await client.post(f"/v1/staff/notices/{n['id']}/submit", headers=op1)
    assert r.json()["state"] == "pending_approval"
    assert await _alerts(engine) == []  # nothing left the building
    r = await client.post(f"/v1/staff/notices/{n['id']}/approve", headers=op1)
    assert r.status_code == 403 and r.json()["code"] == "same_person"
    r = await client.post(f"/v1/staff/notices/{n['id']}/approve", headers=op2)
    assert r.status_code == 200, r.text
    issued = r.json()
    assert issued["state"] == "issued" and issued["alert_id"] and issued["cap_identifier"]
    [a] = await _alerts(engine)
    assert (a["source"], a["msg_type"], a["category"], a["is_drill"]) == ("cap", "alert", "evacuation", False)
    assert a["area_codes"] == [FUKUSHIMA] and a["geom"] is True  # the polygon is the precise area
    assert a["payload"]["level"] == 4 and a["payload"]["severity"] == "Severe"
    assert a["payload"]["origin"] == "staff" and a["payload"]["notice_id"] == n["id"]
    assert set(a["payload"]["messages"]) == set(LANGUAGES)
    async with engine.connect() as conn:
        outbox = (await conn.execute(text("SELECT count(*) FROM alert_outbox WHERE alert_id = :a"), {"a": a["id"]})).scalar()
    assert outbox == 1


async def test_level3_and_drills_issue_without_approval(app, client, engine):
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    r = await client.post("/v1/staff/notices", headers=op, json=_draft(level=3, target_kind="municipality",
                                                                       municipality_codes=[FUKUSHIMA], polygon=None))
    assert r.status_code == 201, r.text
    assert (await client.post(f"/v1/staff/notices/{r.json()['id']}/submit", headers=op)).json()["state"] == "issued"
    r = await client.post("/v1/staff/notices", headers=op, json=_draft(level=5, is_drill=True))
    drill = (await client.post(f"/v1/staff/notices/{r.json()['id']}/submit", headers=op)).json()
    assert drill["state"] == "issued"
    alerts = await _alerts(engine)
    assert [a["is_drill"] for a in alerts] == [False, True]
    # A whole-municipality order carries only the code; a drill is labelled 訓練 in every language.
    assert alerts[0]["geom"] is False and alerts[0]["area_codes"] == [FUKUSHIMA]
    messages = alerts[1]["payload"]["messages"]
    assert set(messages) == set(LANGUAGES)
    for lang, m in messages.items():
        assert "訓練" in m["headline"], lang
    assert messages["en"]["headline"].startswith("[DRILL")
    assert alerts[1]["payload"]["status"] == "Exercise"


async def test_municipal_operator_cannot_reach_outside_their_municipality(app, client):
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    r = await client.post("/v1/staff/notices", headers=op, json=_draft(polygon=square(*KORIYAMA_POINT)))
    assert r.status_code == 403 and r.json()["code"] == "out_of_scope"
    r = await client.post("/v1/staff/notices", headers=op, json=_draft(target_kind="municipality",
                                                                      municipality_codes=[KORIYAMA], polygon=None))
    assert r.status_code == 403 and r.json()["code"] == "out_of_scope"
    # A polygon straddling the border of 福島市 by kilometres is refused too.
    lat, lon = FUKUSHIMA_POINT
    r = await client.post("/v1/staff/notices", headers=op, json=_draft(polygon=square(lat, lon, half_deg=0.3)))
    assert r.status_code == 403
    # The prefecture may target anywhere in the prefecture.
    pref = await staff_headers(app, client, "prefecture")
    r = await client.post("/v1/staff/notices", headers=pref, json=_draft(polygon=square(*KORIYAMA_POINT)))
    assert r.status_code == 201 and r.json()["municipality_codes"] == [KORIYAMA]


async def test_polygons_are_validated(app, client):
    op = await staff_headers(app, client, "prefecture")
    lat, lon = FUKUSHIMA_POINT
    bowtie = {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.01, lat + 0.01], [lon + 0.01, lat],
                                                  [lon, lat + 0.01], [lon, lat]]]}
    detailed = {"type": "Polygon", "coordinates": [[[lon + 0.01 * __import__("math").cos(i / 400 * 6.283),
                                                     lat + 0.01 * __import__("math").sin(i / 400 * 6.283)]
                                                    for i in range(2000)] + [[lon + 0.01, lat]]]}
    huge = square(37.5, 140.0, half_deg=2.0)
    for poly, code in ((bowtie, "invalid_polygon"), (detailed, "polygon_too_detailed"), (huge, "polygon_too_large"),
                       ({"type": "Point", "coordinates": [lon, lat]}, "invalid_polygon"),
                       ({"type": "Polygon", "coordinates": "nope"}, "invalid_polygon")):
        r = await client.post("/v1/staff/notices", headers=op, json=_draft(polygon=poly))
        assert r.status_code == 400 and r.json()["code"] == code, (code, r.text)


async def test_correction_then_cancellation_follow_the_chain(app, client, engine):
    op1 = await staff_headers(app, client, "municipal", FUKUSHIMA)
    op2 = await staff_headers(app, client, "municipal", FUKUSHIMA)
    n = (await client.post("/v1/staff/notices", headers=op1, json=_draft())).json()
    await client.post(f"/v1/staff/notices/{n['id']}/submit", headers=op1)
    await client.post(f"/v1/staff/notices/{n['id']}/approve", headers=op2)
    # Correction: ready-made from the original, level raised to 5 → approval again.
    r = await client.post(f"/v1/staff/notices/{n['id']}/correction", headers=op1, json={"level": 5})
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["msg_type"] == "update" and c["root_id"] == n["id"] and c["references_id"] == n["id"]
    assert (await client.post(f"/v1/staff/notices/{c['id']}/submit", headers=op1)).json()["state"] == "pending_approval"
    assert (await client.post(f"/v1/staff/notices/{c['id']}/approve", headers=op2)).json()["state"] == "issued"
    assert (await client.get(f"/v1/staff/notices/{n['id']}", headers=op1)).json()["state"] == "updated"
    # The superseded notice can no longer be corrected or cancelled; the current one can.
    assert (await client.post(f"/v1/staff/notices/{n['id']}/cancel", headers=op1)).status_code == 409
    r = await client.post(f"/v1/staff/notices/{c['id']}/cancel", headers=op1, json={"note": "誤発信"})
    assert r.status_code == 200, r.text
    x = r.json()
    assert x["msg_type"] == "cancel" and x["state"] == "issued"
    assert (await client.get(f"/v1/staff/notices/{c['id']}", headers=op1)).json()["state"] == "cancelled"
    alerts = await _alerts(engine)
    assert [a["msg_type"] for a in alerts] == ["alert", "update", "cancel"]
    # All three are one event (the original's identifier), now cancelled.
    assert len({a["payload"]["event_id"] for a in alerts}) == 1
    assert alerts[-1]["state"] == "cancelled"
    assert alerts[1]["payload"]["messages"]["ja"]["headline"].startswith("【訂正】")
    assert alerts[2]["payload"]["messages"]["en"]["headline"].startswith("[CANCELLED]")
    entries = (await client.get("/v1/staff/audit", headers=op1, params={"target_type": "notice", "limit": 100})).json()
    actions = [e["action"] for e in entries][::-1]
    assert actions == ["notice.draft", "notice.submit", "notice.approve", "notice.issue",
                       "notice.correction_draft", "notice.submit", "notice.approve", "notice.updated", "notice.issue",
                       "notice.cancel", "notice.cancelled", "notice.issue"]


async def test_viewer_cannot_draft_and_out_of_scope_notices_are_invisible(app, client):
    viewer = await staff_headers(app, client, "viewer")
    r = await client.post("/v1/staff/notices", headers=viewer, json=_draft())
    assert r.status_code == 403
    pref = await staff_headers(app, client, "prefecture")
    n = (await client.post("/v1/staff/notices", headers=pref, json=_draft(polygon=square(*KORIYAMA_POINT)))).json()
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    assert (await client.get(f"/v1/staff/notices/{n['id']}", headers=op)).status_code == 404
    assert (await client.post(f"/v1/staff/notices/{n['id']}/submit", headers=op)).status_code == 404
    assert n["id"] not in [x["id"] for x in (await client.get("/v1/staff/notices", headers=op)).json()]


async def test_district_target(app, client, engine):
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    r = await client.post("/v1/staff/districts", headers=op, json={
        "municipality_code": FUKUSHIMA, "name": "渡利地区", "polygon": square(*FUKUSHIMA_POINT, half_deg=0.01)})
    assert r.status_code == 201, r.text
    d = r.json()
    r = await client.post("/v1/staff/districts", headers=op, json={
        "municipality_code": KORIYAMA, "name": "x", "polygon": square(*KORIYAMA_POINT)})
    assert r.status_code == 403
    n = (await client.post("/v1/staff/notices", headers=op, json=_draft(level=3, target_kind="districts",
                                                                         district_ids=[d["id"]], polygon=None))).json()
    issued = (await client.post(f"/v1/staff/notices/{n['id']}/submit", headers=op)).json()
    assert issued["state"] == "issued"
    assert "渡利地区" in issued["messages"]["ja"]["body"]
    [a] = await _alerts(engine)
    assert a["geom"] is True


async def test_issuing_opens_the_listed_shelters_but_a_drill_does_not(app, client, engine):
    async with engine.begin() as conn:
        for sid in ("S-LIVE", "S-DRILL"):
            await conn.execute(text(
                "INSERT INTO shelters (id, name, municipality_code, geom, source) VALUES "
                "(:id, :id, :m, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 'staff')"),
                {"id": sid, "m": FUKUSHIMA, "lat": FUKUSHIMA_POINT[0], "lon": FUKUSHIMA_POINT[1]})
        await conn.execute(text(
            "INSERT INTO shelters (id, name, municipality_code, geom, source) VALUES "
            "('S-KOR', 'k', :m, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 'staff')"),
            {"m": KORIYAMA, "lat": KORIYAMA_POINT[0], "lon": KORIYAMA_POINT[1]})
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    r = await client.post("/v1/staff/notices", headers=op, json=_draft(level=3, shelter_ids=["S-KOR"]))
    assert r.status_code == 403 and r.json()["code"] == "out_of_scope"
    for sid, drill in (("S-LIVE", False), ("S-DRILL", True)):
        n = (await client.post("/v1/staff/notices", headers=op, json=_draft(level=3, shelter_ids=[sid], is_drill=drill))).json()
        issued = (await client.post(f"/v1/staff/notices/{n['id']}/submit", headers=op)).json()
        assert issued["state"] == "issued"
        assert sid in issued["messages"]["ja"]["body"]
    async with engine.connect() as conn:
        states = dict((await conn.execute(text("SELECT id, is_open FROM shelters"))).all())
    assert states == {"S-LIVE": True, "S-DRILL": False, "S-KOR": False}
    audit = (await client.get("/v1/staff/audit", headers=op, params={"action": "shelter.open"})).json()
    assert [e["target"]["id"] for e in audit] == ["S-LIVE"]


async def test_bad_input_is_a_clear_4xx_never_a_500(app, client):
    op = await staff_headers(app, client, "prefecture")
    lat, lon = FUKUSHIMA_POINT
    huge = 2**70
    for method, url, body in (
        ("GET", f"/v1/staff/notices/{huge}", None),
        ("POST", f"/v1/staff/notices/{huge}/approve", None),
        ("GET", f"/v1/staff/reports/notices/{huge}", None),
        ("GET", f"/v1/feeds/cap/{huge}.xml", None),
        ("POST", "/v1/staff/notices", _draft(target_kind="districts", district_ids=[huge], polygon=None)),
        ("POST", "/v1/staff/notices", _draft(polygon={"type": "Polygon", "coordinates": [[[lon, lat], [lon, lat]]]})),
        ("POST", "/v1/staff/notices", _draft(polygon={"type": "Polygon", "coordinates": [[[999, 999], [1000, 999], [1000, 1000], [999, 999]]]})),
        ("POST", "/v1/staff/notices", _draft(polygon={"type": "Polygon", "coordinates": [[["a", "b"]]]})),
        ("POST", "/v1/staff/notices", _draft(level=2)),
        ("POST", "/v1/staff/notices", _draft(template="nope")),
        ("POST", "/v1/staff/notices", _draft(shelter_ids=["no-such-shelter"])),
        ("POST", "/v1/staff/notices", _draft(target_kind="municipality", municipality_codes=["999999"], polygon=None)),
        ("PATCH", "/v1/staff/shelters/nope", {"occupancy": 1}),
    ):
        r = await client.request(method, url, json=body, headers=op)
        assert 400 <= r.status_code < 500, (method, url, r.status_code, r.text)
        assert {"error", "code"} <= set(r.json()), r.text
    r = await client.post("/v1/staff/notices", headers={**op, "Content-Type": "application/json"}, content=b'{"level": 4, "target_kind": "polygon", '
                          b'"polygon": {"type": "Polygon", "coordinates": [[[NaN, 1], [2, 2], [3, 1], [NaN, 1]]]}}',
                          )
    assert 400 <= r.status_code < 500, r.text
