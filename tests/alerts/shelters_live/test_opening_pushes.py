"""Shelter-opening pushes respect quiet hours (held, listed by GET /v1/me/shelter-openings)
and a bulk open of several shelters sends one push per resident (issue 12 item 12)."""

from __future__ import annotations

import orjson
from sqlalchemy import text

from tests.kits.shelters_live import S_FUK, S_FUK2, residents_with_plans, add_live_shelters
from tests.kits.staff import FUKUSHIMA, staff_headers

ALL_DAY_QUIET = {"quiet_hours": {"start": "00:00", "end": "23:59", "tz": "Asia/Tokyo"}}


async def _plan_naming_both(engine, n: int) -> list[int]:
    ids = await residents_with_plans(engine, S_FUK, n)
    body = orjson.dumps({"destinations": [{"id": "d1", "kind": "shelter", "shelter_id": S_FUK},
                                          {"id": "d2", "kind": "shelter", "shelter_id": S_FUK2}]}).decode()
    async with engine.begin() as conn:
        await conn.execute(text(
            """UPDATE evacuation_plan_versions v SET body = CAST(:b AS jsonb) FROM evacuation_plans p
               WHERE p.id = v.plan_id AND p.resident_id = ANY(CAST(:ids AS bigint[]))"""), {"b": body, "ids": ids})
    return ids


async def test_a_bulk_open_of_two_shelters_sends_one_push_per_resident(app, client, engine):
    await add_live_shelters(engine)
    both = await _plan_naming_both(engine, 3)
    one = await residents_with_plans(engine, S_FUK2, 2)
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    r = await client.post("/v1/staff/shelters/bulk", headers=op,
                          json={"municipality_code": FUKUSHIMA, "action": "open", "shelter_ids": [S_FUK, S_FUK2]})
    assert r.status_code == 200, r.text
    assert r.json()["changed"] == 2 and r.json()["notified"] == 5
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT resident_id, count(*), min(title), min(body) FROM notifications WHERE kind = 'shelter_open' "
            "GROUP BY resident_id"))).all()
    assert sorted(r[0] for r in rows) == sorted(both + one)
    assert all(r[1] == 1 for r in rows)
    titles = {r[0]: r[2] for r in rows}
    assert "渡利小学校" in titles[both[0]] and "福島第一体育館" in titles[both[0]]
    assert "渡利小学校" not in titles[one[0]]


async def test_quiet_hours_hold_an_opening_and_the_pull_shows_it(app, client, engine):
    await add_live_shelters(engine)
    r = await client.post("/v1/devices", json={"platform": "android", "language": "ja", "fcm_token": "tok-quiet-open"})
    headers, sleeper = {"Authorization": f"Bearer {r.json()['token']}"}, r.json()["resident_id"]
    awake = (await residents_with_plans(engine, S_FUK, 1))[0]
    body = orjson.dumps({"destinations": [{"id": "d1", "kind": "shelter", "shelter_id": S_FUK}]}).decode()
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE residents SET preferences = CAST(:p AS jsonb) WHERE id = :r"),
                           {"p": orjson.dumps(ALL_DAY_QUIET).decode(), "r": sleeper})
        await conn.execute(text(
            """WITH p AS (INSERT INTO evacuation_plans (resident_id, current_version) VALUES (:r, 1) RETURNING id)
               INSERT INTO evacuation_plan_versions (plan_id, version, body, completeness)
               SELECT id, 1, CAST(:b AS jsonb), 50 FROM p"""), {"r": sleeper, "b": body})
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    r = await client.post(f"/v1/staff/shelters/{S_FUK}/open", headers=op)
    assert r.status_code == 200, r.text
    assert r.json()["notified"] == 1 and r.json()["held"] == 1
    async with engine.connect() as conn:
        told = [x[0] for x in await conn.execute(text("SELECT resident_id FROM notifications WHERE kind = 'shelter_open'"))]
    assert told == [awake]
    pulled = await client.get("/v1/me/shelter-openings", headers=headers)
    assert pulled.status_code == 200, pulled.text
    assert [(o["shelter_id"], o["reason"]) for o in pulled.json()] == [(S_FUK, "plan")]
    assert pulled.json()[0]["opened_at"]
