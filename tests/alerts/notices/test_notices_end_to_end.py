"""Done-when, through the API: a municipal operator drafts a level-4 order for a district of their
municipality; a second person approves; residents with places there receive it with their plan;
a correction and then a cancellation reach exactly them; the audit log shows every step; the
CAP feed carries all three, schema-valid."""

from __future__ import annotations

from lxml import etree
from sqlalchemy import text

from alerts.sources.cap import embedded_alerts
from tests.kits.cap import CAP, assert_valid
from tests.kits.notices import FUKUSHIMA_NOT_WATARI, WATARI_DISTRICT, add_school, deliver, new_resident, pushes
from tests.kits.residents import WATARI
from tests.kits.staff import FUKUSHIMA, KORIYAMA_POINT, staff_headers


async def test_level4_district_order_correction_cancellation_end_to_end(app, client, engine):
    await add_school(engine)
    inside_plan = await new_resident(client, WATARI, plan=True)
    inside_en = await new_resident(client, (WATARI[0] + 0.004, WATARI[1] - 0.004), language="en")
    elsewhere = await new_resident(client, FUKUSHIMA_NOT_WATARI)
    koriyama = await new_resident(client, KORIYAMA_POINT)
    op1 = await staff_headers(app, client, "municipal", FUKUSHIMA)
    op2 = await staff_headers(app, client, "municipal", FUKUSHIMA)

    d = await client.post("/v1/staff/districts", headers=op1, json={
        "municipality_code": FUKUSHIMA, "name": "渡利地区", "polygon": WATARI_DISTRICT})
    assert d.status_code == 201, d.text
    r = await client.post("/v1/staff/notices", headers=op1, json={
        "level": 4, "target_kind": "districts", "district_ids": [d.json()["id"]], "template": "river_flood",
        "shelter_ids": ["S-SCHOOL"]})
    assert r.status_code == 201, r.text
    notice = r.json()
    assert (await client.post(f"/v1/staff/notices/{notice['id']}/submit", headers=op1)).json()["state"] == "pending_approval"
    issued = (await client.post(f"/v1/staff/notices/{notice['id']}/approve", headers=op2)).json()
    assert issued["state"] == "issued"

    await deliver(app, issued["alert_id"])
    got = await pushes(engine, issued["alert_id"])
    assert set(got) == {inside_plan, inside_en}  # not 福島市 outside the district, not 郡山市
    [p] = got[inside_plan]
    assert p["status"] == "ok"
    assert "渡利小学校" in p["body"] and "祖母" in p["body"]  # their own plan, in the message

    # Correction (level 5) → approval again → reaches exactly them.
    c = (await client.post(f"/v1/staff/notices/{notice['id']}/correction", headers=op1, json={"level": 5})).json()
    await client.post(f"/v1/staff/notices/{c['id']}/submit", headers=op1)
    c = (await client.post(f"/v1/staff/notices/{c['id']}/approve", headers=op2)).json()
    await deliver(app, c["alert_id"])
    assert set(await pushes(engine, c["alert_id"])) == {inside_plan, inside_en}

    # Cancellation: at once, to exactly those told.
    x = (await client.post(f"/v1/staff/notices/{c['id']}/cancel", headers=op1, json={"note": "誤り"})).json()
    await deliver(app, x["alert_id"])
    got = await pushes(engine, x["alert_id"])
    assert set(got) == {inside_plan, inside_en}
    async with engine.connect() as conn:
        statuses = dict((await conn.execute(text("SELECT resident_id, status FROM deliveries"))).all())
    assert statuses == {inside_plan: "cancelled", inside_en: "cancelled"}
    assert elsewhere not in statuses and koriyama not in statuses

    # Audit: every step, who and when, before and after.
    entries = (await client.get("/v1/staff/audit", headers=op1, params={"limit": 200})).json()
    steps = [(e["action"], e["target"]["type"]) for e in entries][::-1]
    assert [a for a, t in steps if t in ("notice", "district")] == [
        "district.create", "notice.draft", "notice.submit", "notice.approve", "notice.issue",
        "notice.correction_draft", "notice.submit", "notice.approve", "notice.updated", "notice.issue",
        "notice.cancel", "notice.cancelled", "notice.issue"]
    approvals = [e for e in entries if e["action"] == "notice.approve"]
    assert {e["actor"]["id"] for e in approvals} != {issued["created_by"]}
    assert all(e["at"] for e in entries)

    # Delivery figures for the chain.
    rep = (await client.get(f"/v1/staff/reports/notices/{notice['id']}", headers=op1)).json()
    assert [m["msg_type"] for m in rep["messages"]] == ["alert", "update", "cancel"]
    first = rep["messages"][0]
    assert first["targeted"] == 2 and first["pushes"]["sent"] == 2 and first["pushes"]["failed"] == 0
    assert first["by_provider"] == {"fcm_token": {"ok": 2}}
    assert first["seconds_to_first_push"] is not None and first["seconds_to_last_push"] >= first["seconds_to_first_push"]
    csv = await client.get(f"/v1/staff/reports/notices/{notice['id']}.csv", headers=op1)
    assert csv.status_code == 200 and csv.text.count("\n") == 4

    # CAP feed: all three, schema-valid.
    docs = embedded_alerts(etree.fromstring((await client.get("/v1/feeds/cap.atom")).content))
    assert sorted(doc.findtext(f"{CAP}msgType") for doc in docs) == ["Alert", "Cancel", "Update"]
    for doc in docs:
        assert_valid(doc)
