"""Check-in at shelters with the shelter's code, households outside shelters, and the roster:
through the API, with the family told once and the roster strictly within scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from tests.kits.evacuees import PLAN, S_FUK, S_FUK2, add_shelters, family_of, new_resident, notifications, shelter_row
from tests.kits.staff import FUKUSHIMA, KORIYAMA, staff_headers


def _now(minutes: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


async def _code(client, staff, sid) -> str:
    r = await client.get(f"/v1/staff/shelters/{sid}/checkin-code", headers=staff)
    assert r.status_code == 200, r.text
    assert r.json()["url"].endswith(r.json()["token"])
    return r.json()["url"]


async def _audit(engine, action: str) -> list[dict]:
    async with engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT actor_username, target_id, municipality_code, after FROM audit_log WHERE action = :a ORDER BY id"),
            {"a": action})
        return [dict(r._mapping) for r in rows]


async def test_household_checks_in_once_family_told_once_checkout_undoes_it_roster_in_scope(app, client, engine):
    await add_shelters(engine)
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    url = await _code(client, op, S_FUK)
    me, me_id = await new_resident(client, plan=PLAN)
    kin, kin_id = await new_resident(client)
    await family_of(client, me, [kin])

    body = {"client_id": "c-1", "code": url, "at": _now(-30), "members": ["grandma", "father"], "needs": ["allergies"]}
    first = await client.post("/v1/shelters/checkin", headers=me, json=body)
    assert first.status_code == 201, first.text
    got = first.json()
    assert (got["state"], got["headcount"], got["duplicate"]) == ("in", 2, False)
    assert got["needs"] == ["medical", "pets", "allergies", "mobility"]
    assert got["shelter_checked_in"] == 2 and got["shelter_occupancy"] == 2 and got["shelter_crowding"] == "empty"
    # The queue on the phone sends it again (twice): the same check-in, nothing counted twice.
    for _ in range(2):
        again = await client.post("/v1/shelters/checkin", headers=me, json=body)
        assert again.status_code == 200 and again.json()["duplicate"] is True and again.json()["id"] == got["id"]
    assert (await shelter_row(engine, S_FUK))["checked_in"] == 2

    # Crowding moves with check-ins: 30 more people (hand check-in by staff) make it "somewhat crowded".
    r = await client.post(f"/v1/staff/shelters/{S_FUK}/checkins", headers=op,
                          json={"client_id": "desk-1", "headcount": 30, "members": [{"label": "佐藤", "needs": ["care"]}]})
    assert r.status_code == 201, r.text
    desk = r.json()
    assert desk["shelter_occupancy"] == 32 and desk["shelter_crowding"] == "somewhat_crowded"
    public = (await client.get(f"/v1/shelters/{S_FUK}")).json()
    assert (public["occupancy"], public["checked_in"], public["crowding"]) == (32, 32, "somewhat_crowded")

    # The family was told "at shelter (name)" once.
    told = await notifications(engine, "family_status")
    assert [(n["resident_id"], n["data"]["status"]) for n in told] == [(kin_id, "at_shelter")]
    assert "渡利小学校" in told[0]["body"]
    g = (await client.get("/v1/me/safety", headers=me)).json()
    assert (g["status"], g["shelter_id"], g["shelter_name"]) == ("at_shelter", S_FUK, "渡利小学校")

    # Someone outside shelters: in the car, with a pet.
    car, _ = await new_resident(client)
    r = await client.put("/v1/me/evacuation", headers=car, json={"whereabouts": "car", "headcount": 3, "needs": ["pets"]})
    assert r.status_code == 200, r.text
    assert r.json()["municipality_code"] == FUKUSHIMA

    # The roster for the municipality's operator: both, with names and needs, counts by need.
    r = await client.get("/v1/staff/roster", headers=op, params={"municipality_code": FUKUSHIMA})
    assert r.status_code == 200, r.text
    roster = r.json()
    assert roster["counts"]["checked_in"] == {"people": 32, "households": 2}
    assert roster["counts"]["outside"]["people"] == 3 and roster["counts"]["outside"]["by_whereabouts"] == {"car": 3}
    assert roster["counts"]["households_by_need"]["pets"] == 2
    app_entry = next(e for e in roster["entries"] if e["kind"] == "checked_in" and e["source"] == "app")
    assert [m["label"] for m in app_entry["members"]] == ["祖母", "父"]
    assert any(e["kind"] == "outside" and e["whereabouts"] == "car" for e in roster["entries"])
    # CSV with the documented columns.
    r = await client.get("/v1/staff/roster.csv", headers=op)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.lstrip("\ufeff").splitlines()
    assert lines[0] == "kind,municipality_code,shelter_id,shelter_name,whereabouts,headcount,members,needs,note,since,source,lat,lon"
    assert len(lines) == 4 and any("祖母、父" in ln for ln in lines)

    # Another municipality's operator sees none of it.
    other = await staff_headers(app, client, "municipal", KORIYAMA)
    assert (await client.get("/v1/staff/roster", headers=other, params={"municipality_code": FUKUSHIMA})).status_code == 403
    assert (await client.get("/v1/staff/roster", headers=other, params={"shelter_id": S_FUK})).status_code == 404
    assert (await client.get("/v1/staff/roster.csv", headers=other, params={"municipality_code": FUKUSHIMA})).status_code == 403
    own = (await client.get("/v1/staff/roster", headers=other)).json()
    assert own["municipality_code"] == KORIYAMA and own["entries"] == [] and own["counts"]["checked_in"]["people"] == 0
    assert (await client.get(f"/v1/staff/shelters/{S_FUK}/checkin-code", headers=other)).status_code == 404
    # A viewer gets counts, no names or needs.
    viewer = await staff_headers(app, client, "viewer", FUKUSHIMA)
    v = (await client.get("/v1/staff/roster", headers=viewer)).json()
    assert v["personal_details"] is False and v["counts"]["checked_in"]["people"] == 32
    assert all("members" not in e and "needs" not in e for e in v["entries"])
    # Every roster read is in the audit log, with who, scope and format.
    reads = await _audit(engine, "roster.read")
    assert [(a["after"]["format"], a["municipality_code"], a["after"]["personal"]) for a in reads] == [
        ("json", FUKUSHIMA, True), ("csv", FUKUSHIMA, True), ("json", KORIYAMA, True), ("json", FUKUSHIMA, False)]

    # Check-out undoes it: the count, the crowding, and the status goes back (the family is told).
    r = await client.post("/v1/shelters/checkout", headers=me, json={"client_id": "o-1", "at": _now(-1)})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "out" and r.json()["shelter_checked_in"] == 30
    again = await client.post("/v1/shelters/checkout", headers=me, json={"client_id": "o-1", "at": _now(-1),
                                                                          "checkin_client_id": "c-1"})
    assert again.status_code == 200 and again.json()["shelter_checked_in"] == 30
    assert (await client.get("/v1/me/safety", headers=me)).json()["status"] == "unknown"
    assert (await client.get("/v1/me/checkin", headers=me)).json() is None
    # Staff check the desk's 30 out.
    r = await client.post(f"/v1/staff/checkins/{desk['id']}/checkout", headers=op, json={})
    assert r.status_code == 200 and r.json()["shelter_checked_in"] == 0 and r.json()["shelter_occupancy"] == 0
    assert len(await _audit(engine, "shelter.checkin")) == 1 and len(await _audit(engine, "shelter.checkout")) == 1


async def test_a_later_checkin_elsewhere_moves_the_household_and_a_late_older_one_counts_nowhere(app, client, engine):
    await add_shelters(engine)
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    a, b = await _code(client, op, S_FUK), await _code(client, op, S_FUK2)
    me, _ = await new_resident(client)
    kin, kin_id = await new_resident(client)
    await family_of(client, me, [kin])
    assert (await client.post("/v1/shelters/checkin", headers=me,
                              json={"client_id": "x1", "code": a, "at": _now(-60), "headcount": 2})).status_code == 201
    assert (await client.post("/v1/shelters/checkin", headers=me,
                              json={"client_id": "x3", "code": b, "at": _now(-10), "headcount": 2})).status_code == 201
    assert (await shelter_row(engine, S_FUK))["checked_in"] == 0
    assert (await shelter_row(engine, S_FUK2))["checked_in"] == 2
    # A check-in queued offline in between arrives last: it is history, counted nowhere.
    late = await client.post("/v1/shelters/checkin", headers=me,
                             json={"client_id": "x2", "code": a, "at": _now(-30), "headcount": 2})
    assert late.status_code == 201 and late.json()["state"] == "moved"
    assert (await shelter_row(engine, S_FUK))["checked_in"] == 0
    assert (await shelter_row(engine, S_FUK2))["checked_in"] == 2
    assert (await client.get("/v1/me/safety", headers=me)).json()["shelter_id"] == S_FUK2
    told = [n["data"]["status"] for n in await notifications(engine, "family_status") if n["resident_id"] == kin_id]
    assert told == ["at_shelter", "at_shelter"]  # one per shelter, none for the late one
    # Going to the car ends the check-in.
    r = await client.put("/v1/me/evacuation", headers=me, json={"whereabouts": "relatives", "headcount": 2})
    assert r.status_code == 200
    assert (await shelter_row(engine, S_FUK2))["checked_in"] == 0
    assert (await client.delete("/v1/me/evacuation", headers=me)).status_code == 204
    assert (await client.get("/v1/me/evacuation", headers=me)).json() is None


async def test_bad_codes_and_payloads_are_4xx_with_a_message(app, client, engine):
    await add_shelters(engine)
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    url = await _code(client, op, S_FUK)
    me, _ = await new_resident(client, plan=PLAN)
    base = {"client_id": "k1", "code": url, "at": _now()}
    token = url.rpartition("c=")[2]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    cases = [
        ({"code": "hello"}, 400, "invalid_checkin_code"),
        ({"code": forged}, 400, "invalid_checkin_code"),
        ({"code": "x" * 700}, 422, "validation_error"),
        ({"at": _now(60)}, 400, "time_in_future"),
        ({"at": _now(-60 * 24 * 30)}, 400, "time_too_old"),
        ({"at": "2026-01-01T00:00:00"}, 422, "validation_error"),  # no offset: whose clock?
        ({"members": ["nobody"]}, 400, "unknown_member"),
        ({"members": ["grandma", "father"], "headcount": 1}, 400, "invalid_headcount"),
        ({"needs": ["snacks"]}, 422, "validation_error"),
        ({"client_id": "has space"}, 422, "validation_error"),
    ]
    for change, status, code in cases:
        r = await client.post("/v1/shelters/checkin", headers=me, json={**base, **change})
        assert (r.status_code, r.json()["code"]) == (status, code), (change, r.text)
    assert (await client.post("/v1/shelters/checkin", json=base)).status_code == 401
    # A rotated code stops working at once; the new one works.
    r = await client.post(f"/v1/staff/shelters/{S_FUK}/checkin-code/rotate", headers=op)
    assert r.status_code == 200 and r.json()["version"] == 2
    r2 = await client.post("/v1/shelters/checkin", headers=me, json=base)
    assert (r2.status_code, r2.json()["code"]) == (400, "checkin_code_replaced")
    new = (await client.get(f"/v1/staff/shelters/{S_FUK}/checkin-code", headers=op)).json()["token"]
    assert (await client.post("/v1/shelters/checkin", headers=me, json={**base, "code": new})).status_code == 201
    # The queue sends it again with the old code: still the same check-in, not an error.
    r = await client.post("/v1/shelters/checkin", headers=me, json=base)
    assert r.status_code == 200 and r.json()["duplicate"] is True
    # The same client id for another shelter is a conflict, not a silent second check-in.
    other = await _code(client, op, S_FUK2)
    r = await client.post("/v1/shelters/checkin", headers=me, json={**base, "code": other})
    assert r.status_code == 409 and r.json()["code"] == "client_id_reused"
    # Check-out before the check-in, or with nothing to end.
    r = await client.post("/v1/shelters/checkout", headers=me, json={"client_id": "o", "at": _now(-5)})
    assert r.status_code == 400 and r.json()["code"] == "checkout_before_checkin"
    stranger, _ = await new_resident(client)
    r = await client.post("/v1/shelters/checkout", headers=stranger, json={"client_id": "o", "at": _now()})
    assert r.status_code == 404 and r.json()["code"] == "not_checked_in"
    r = await client.put("/v1/me/evacuation", headers=me, json={"whereabouts": "car", "location": {"lat": 37.7, "lon": 140.4}})
    assert r.status_code == 400 and r.json()["code"] == "location_not_shared"
    r = await client.put("/v1/me/evacuation", headers=me, json={"whereabouts": "boat"})
    assert r.status_code == 422


async def test_qr_sheet_is_an_svg_with_the_name_and_instructions(app, client, engine):
    await add_shelters(engine)
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    r = await client.get(f"/v1/staff/shelters/{S_FUK}/checkin-code.svg", headers=op)
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert "渡利小学校" in r.text and "Shelter check-in" in r.text and "避難所チェックイン" in r.text
    from lxml import etree

    etree.fromstring(r.content)  # well-formed


async def test_checkin_requests_are_rate_limited_per_device(app, client, engine, monkeypatch):
    from alerts.evacuees.config import get_evacuees_settings

    await add_shelters(engine)
    monkeypatch.setattr(get_evacuees_settings(), "checkin_requests_per_minute", 3)
    me, _ = await new_resident(client)
    codes = [(await client.post("/v1/shelters/checkin", headers=me, json={"client_id": f"r{i}", "code": "nope", "at": _now()}))
             for i in range(4)]
    assert [r.status_code for r in codes] == [400, 400, 400, 429]
    assert codes[-1].json()["code"] == "rate_limited"


async def test_expired_outside_entries_are_forgotten(app, client, engine):
    from alerts.evacuees.tasks import forget_expired_outside

    me, _ = await new_resident(client)
    assert (await client.put("/v1/me/evacuation", headers=me, json={"whereabouts": "car"})).status_code == 200
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE outside_evacuations SET expires_at = now() - interval '1 minute'"))
    assert (await client.get("/v1/me/evacuation", headers=me)).json() is None

    class Ctx:
        sessionmaker = app.state.sessionmaker

    await forget_expired_outside(Ctx())
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM outside_evacuations"))).scalar() == 0


async def test_ended_checkins_are_forgotten_after_the_retention_but_never_those_still_in(app, client, engine):
    from alerts.evacuees.tasks import forget_ended_checkins

    await add_shelters(engine)
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    ids = []
    for i in range(3):
        r = await client.post(f"/v1/staff/shelters/{S_FUK}/checkins", headers=op, json={"client_id": f"d{i}"})
        ids.append(r.json()["id"])
    for i in ids[:2]:
        assert (await client.post(f"/v1/staff/checkins/{i}/checkout", headers=op, json={})).status_code == 200
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE shelter_checkins SET checked_out_at = now() - interval '91 days', "
                                "received_at = now() - interval '91 days' WHERE id = ANY(:ids)"), {"ids": [ids[0], ids[2]]})

    class Ctx:
        sessionmaker = app.state.sessionmaker

    await forget_ended_checkins(Ctx())
    async with engine.connect() as conn:
        left = sorted(r[0] for r in await conn.execute(text("SELECT id FROM shelter_checkins")))
    assert left == [ids[1], ids[2]]


async def test_an_outside_entry_made_during_an_event_is_cleared_when_the_event_ends(app, client, engine):
    from alerts.evacuees.tasks import clear_outside_after_events

    me, me_id = await new_resident(client)
    calm, _ = await new_resident(client)
    async with engine.begin() as conn:
        ev = (await conn.execute(text(
            "INSERT INTO alert_events (source, event_id, category, state, first_issued_at, last_issued_at, in_force_until) "
            "VALUES ('cap', 'urn:test:evac', 'evacuation', 'active', now(), now(), now() + interval '6 hours') "
            "RETURNING id"))).scalar_one()
        await conn.execute(text(
            "INSERT INTO deliveries (resident_id, event_id, category, status, rank, max_rank, first_alert_id, last_alert_id) "
            "VALUES (:r, :e, 'evacuation', 'told', 4, 4, 0, 0)"), {"r": me_id, "e": ev})
    r = await client.put("/v1/me/evacuation", headers=me, json={"whereabouts": "car"})
    assert r.status_code == 200 and r.json()["until_events_end"] == [ev]
    r = await client.put("/v1/me/evacuation", headers=calm, json={"whereabouts": "relatives"})
    assert r.json()["until_events_end"] == []

    class Ctx:
        sessionmaker = app.state.sessionmaker

    assert await clear_outside_after_events(Ctx()) == 0  # still in force
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alert_events SET state = 'cleared' WHERE id = :e"), {"e": ev})
    assert await clear_outside_after_events(Ctx()) == 1
    assert (await client.get("/v1/me/evacuation", headers=me)).json() is None
    assert (await client.get("/v1/me/evacuation", headers=calm)).json()["whereabouts"] == "relatives"


async def test_erasing_a_checked_in_resident_takes_their_people_off_the_count(app, client, engine):
    await add_shelters(engine)
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    url = await _code(client, op, S_FUK)
    me, _ = await new_resident(client)
    other, _ = await new_resident(client)
    for h, n in ((me, 3), (other, 2)):
        r = await client.post("/v1/shelters/checkin", headers=h, json={"client_id": "e", "code": url, "at": _now(), "headcount": n})
        assert r.status_code == 201
    assert (await shelter_row(engine, S_FUK))["checked_in"] == 5
    assert (await client.delete("/v1/me", headers=me)).status_code == 204
    row = await shelter_row(engine, S_FUK)
    assert (row["checked_in"], row["occupancy"]) == (2, 2)
