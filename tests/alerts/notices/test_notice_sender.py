"""A notice's CAP names who issued it (issue 12, item 13, the sender part): 福島市's order says
福島市, not 福島県 危機管理部."""

from __future__ import annotations

from tests.kits.staff import FUKUSHIMA, FUKUSHIMA_POINT, square, staff_headers


async def _issue_level3(client, headers) -> dict:
    n = (await client.post("/v1/staff/notices", headers=headers, json={
        "level": 3, "target_kind": "polygon", "polygon": square(*FUKUSHIMA_POINT), "reason": "浸水のおそれ"})).json()
    r = await client.post(f"/v1/staff/notices/{n['id']}/submit", headers=headers)
    assert r.status_code == 200 and r.json()["state"] == "issued", r.text
    return r.json()


async def test_a_municipal_notice_names_its_municipality_as_sender(app, client):
    municipal = await staff_headers(app, client, "municipal", FUKUSHIMA)
    await _issue_level3(client, municipal)
    feed = (await client.get("/v1/feeds/cap.atom")).text
    assert "<senderName>福島市</senderName>" in feed
    assert "危機管理部" not in feed.split("<senderName>", 1)[1].split("</senderName>", 1)[0]


async def test_a_prefecture_notice_names_the_prefecture(app, client):
    prefecture = await staff_headers(app, client, "prefecture")
    await _issue_level3(client, prefecture)
    feed = (await client.get("/v1/feeds/cap.atom")).text
    assert "<senderName>福島県 危機管理部</senderName>" in feed
