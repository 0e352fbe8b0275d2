"""The sheet through the API: save, versions, completeness, validation, hazard suggestions."""

from __future__ import annotations

from tests.kits.residents import ONAHAMA, WATARI, shelter_record


async def test_complete_plan_round_trips_exactly_with_history(client, new_resident, add_shelters, full_plan):
    await add_shelters(shelter_record("S-SCHOOL", WATARI[0] + 0.01, WATARI[1], name="渡利小学校", hazards=("flood",)))
    headers, _, _ = await new_resident()
    first = await client.put("/v1/me/plan", headers=headers, json=full_plan)
    assert first.status_code == 200, first.text
    assert first.json()["completeness"] == 100 and first.json()["missing"] == [] and first.json()["warnings"] == []

    second_body = {**full_plan, "items": ["お薬手帳"]}
    second = await client.put("/v1/me/plan", headers=headers, json=second_body)
    assert second.json()["version"] == 2

    got = (await client.get("/v1/me/plan", headers=headers)).json()
    assert got["version"] == 2 and got["body"] == second_body
    hist = (await client.get("/v1/me/plan/history", headers=headers)).json()
    assert [h["version"] for h in hist] == [2, 1]
    v1 = (await client.get("/v1/me/plan/versions/1", headers=headers)).json()
    assert v1["body"] == full_plan


async def test_empty_plan_lists_what_is_missing(client, new_resident):
    headers, _, _ = await new_resident()
    r = await client.put("/v1/me/plan", headers=headers, json={})
    assert r.status_code == 200
    out = r.json()
    assert out["completeness"] < 20
    codes = {m["code"] for m in out["missing"]}
    assert {"no_members", "hazard_unknown", "level_actions_empty", "no_destinations", "no_items", "no_contacts",
            "nuclear_not_set"} <= codes


async def test_member_without_destination_is_missing_not_invalid(client, new_resident, add_shelters, full_plan):
    await add_shelters(shelter_record("S-SCHOOL", *WATARI, hazards=("flood",)))
    headers, _, _ = await new_resident()
    full_plan["members"][1]["destination_ids"] = []
    full_plan["members"][1]["leave_at_level"] = None
    out = (await client.put("/v1/me/plan", headers=headers, json=full_plan)).json()
    assert 80 < out["completeness"] < 100
    assert {(m["code"], m["ref"]) for m in out["missing"]} == {("member_no_leave_level", "father"),
                                                               ("member_no_destination", "father")}


async def test_references_and_registry_are_validated_with_clear_errors(client, new_resident, full_plan):
    headers, _, _ = await new_resident()
    full_plan["members"][0]["destination_ids"] = ["nowhere"]
    r = await client.put("/v1/me/plan", headers=headers, json=full_plan)
    assert r.status_code == 400 and r.json()["code"] == "invalid_plan"
    assert any(e["code"] == "unknown_destination" for e in r.json()["detail"])

    full_plan["members"][0]["destination_ids"] = ["school"]
    r = await client.put("/v1/me/plan", headers=headers, json=full_plan)  # S-SCHOOL is not in the registry
    assert r.status_code == 400 and r.json()["detail"][0]["code"] == "unknown_shelter"

    full_plan["destinations"][0]["shelter_id"] = None
    r = await client.put("/v1/me/plan", headers=headers, json=full_plan)
    assert r.status_code == 400 and r.json()["detail"][0]["code"] == "shelter_id_required"


async def test_schema_errors_are_422_never_500(client, new_resident, full_plan):
    headers, _, _ = await new_resident()
    bad = [
        {"members": [{"id": "a", "label": "x", "age_band": "ancient"}]},
        {"members": [{"id": "a b", "label": "x"}]},
        {"destinations": [{"id": "d", "kind": "shelter", "minutes": 0}]},
        {"contacts": [{"name": "x", "phone": "call me"}]},
        {"surprise": 1},
        {"members": [{"id": f"m{i}", "label": "x"} for i in range(21)]},
    ]
    for body in bad:
        r = await client.put("/v1/me/plan", headers=headers, json=body)
        assert r.status_code == 422, (body, r.text)
    r = await client.put("/v1/me/plan", headers=headers, content=b"{not json", )
    assert r.status_code == 422


async def test_more_than_six_members_are_allowed(client, new_resident):
    headers, _, _ = await new_resident()
    members = [{"id": f"m{i}", "label": f"人{i}"} for i in range(9)]
    r = await client.put("/v1/me/plan", headers=headers, json={"members": members})
    assert r.status_code == 200 and len(r.json()["body"]["members"]) == 9


async def test_shelter_chosen_for_undesignated_hazard_is_flagged(client, new_resident, add_shelters, full_plan):
    # A site designated for earthquakes only, chosen for floods.
    await add_shelters(shelter_record("S-SCHOOL", *WATARI, name="渡利体育館", hazards=("earthquake",)))
    headers, _, _ = await new_resident()
    out = (await client.put("/v1/me/plan", headers=headers, json=full_plan)).json()
    assert out["warnings"] == [{
        "code": "shelter_not_designated", "destination_id": "school", "shelter_id": "S-SCHOOL",
        "shelter_name": "渡利体育館", "hazard": "flood",
        "designated_for": ["earthquake"],
        "message": "渡利体育館は洪水の指定緊急避難場所ではありません",  # in the resident's language
    }]
    assert out["completeness"] < 100
    assert any(m["code"] == "destination_unsuitable" for m in out["missing"])
    assert (await client.get("/v1/me/plan", headers=headers)).json()["warnings"] == out["warnings"]
    en_headers, _, _ = await new_resident(language="en")
    en = (await client.put("/v1/me/plan", headers=en_headers, json=full_plan)).json()
    assert "渡利体育館" in en["warnings"][0]["message"] and "flood" in en["warnings"][0]["message"].lower()
    vi_headers, _, _ = await new_resident(language="vi")
    vi = (await client.put("/v1/me/plan", headers=vi_headers, json={"members": []})).json()
    assert all(m["message"] and "add the people" not in m["message"] for m in vi["missing"])


async def test_expected_version_guards_against_lost_updates(client, new_resident):
    headers, _, _ = await new_resident()
    await client.put("/v1/me/plan", headers=headers, json={})
    r = await client.put("/v1/me/plan?expected_version=0", headers=headers, json={})
    assert r.status_code == 409 and r.json()["code"] == "version_conflict"
    assert (await client.put("/v1/me/plan?expected_version=1", headers=headers, json={})).json()["version"] == 2


async def test_plan_for_another_place_is_separate(client, new_resident):
    headers, _, _ = await new_resident()
    work = (await client.post("/v1/me/places", headers=headers, json={"kind": "work", "lat": 37.75, "lon": 140.47})).json()
    await client.put(f"/v1/me/plan?place_id={work['id']}", headers=headers, json={"items": ["社員証"]})
    assert (await client.get("/v1/me/plan", headers=headers)).status_code == 404
    got = (await client.get(f"/v1/me/plan?place_id={work['id']}", headers=headers)).json()
    assert got["body"]["items"] == ["社員証"] and got["place_id"] == work["id"]


async def test_plans_are_private(client, new_resident):
    a, _, _ = await new_resident()
    b, _, _ = await new_resident()
    await client.put("/v1/me/plan", headers=a, json={"items": ["水"]})
    assert (await client.get("/v1/me/plan", headers=b)).status_code == 404
    a_places = (await client.get("/v1/me/places", headers=a)).json()
    r = await client.put(f"/v1/me/plan?place_id={a_places[0]['id']}", headers=b, json={})
    assert r.status_code == 404
    assert (await client.get("/v1/me/plan")).status_code == 401


async def test_suggestions_from_the_data(client, new_resident, add_shelters):
    coastal, _, _ = await new_resident(home=ONAHAMA)
    s = {x["hazard"]: x for x in (await client.get("/v1/me/plan/suggestions", headers=coastal)).json()["suggestions"]}
    assert s["tsunami"]["suggested"] == "yes" and "250" in s["tsunami"]["basis"]
    assert s["flood"]["suggested"] == "unknown" and "hazard map" in s["flood"]["basis"]
    assert s["nuclear"]["suggested"] == "unknown"

    await add_shelters(shelter_record("NEAR", WATARI[0] + 0.002, WATARI[1], hazards=("flood",)))
    inland, _, _ = await new_resident(home=WATARI)
    out = (await client.get("/v1/me/plan/suggestions", headers=inland)).json()
    s = {x["hazard"]: x for x in out["suggestions"]}
    assert s["tsunami"]["suggested"] == "no"
    assert "designated for flood" in s["flood"]["basis"]
    assert out["nearby_shelters"][0]["id"] == "NEAR"
