"""Family groups, invites, statuses and their notifications; access control."""

from __future__ import annotations

from sqlalchemy import text

from tests.kits.calls import count_calls
from tests.kits.family import family, notifications
from tests.kits.residents import WATARI, shelter_record


async def test_create_invite_join_and_see_members(client, new_resident):
    people, gid = await family(client, new_resident)
    g = (await client.get(f"/v1/groups/{gid}", headers=people[2][0])).json()
    assert [m["display_name"] for m in g["members"]] == ["父", "母", "祖母"]
    assert [m["role"] for m in g["members"]] == ["owner", "member", "member"]


async def test_single_use_invite_cannot_be_reused_and_codes_are_forgiving(client, new_resident):
    a, _, _ = await new_resident()
    b, _, _ = await new_resident()
    c, _, _ = await new_resident()
    gid = (await client.post("/v1/groups", headers=a, json={"name": "g", "display_name": "a"})).json()["id"]
    code = (await client.post(f"/v1/groups/{gid}/invites", headers=a, json={"max_uses": 1})).json()["code"]
    assert (await client.post("/v1/groups/join", headers=b, json={"code": code.lower().replace("-", " "),
                                                                  "display_name": "b"})).status_code == 200
    r = await client.post("/v1/groups/join", headers=c, json={"code": code, "display_name": "c"})
    assert r.status_code == 404 and r.json()["code"] == "invalid_invite"
    r = await client.post("/v1/groups/join", headers=b, json={"code": "ZZZZZ-ZZZZZ", "display_name": "b"})
    assert r.status_code == 404


async def test_multi_use_invite_and_expiry(client, new_resident, app):
    a, _, _ = await new_resident()
    gid = (await client.post("/v1/groups", headers=a, json={"name": "g", "display_name": "a"})).json()["id"]
    code = (await client.post(f"/v1/groups/{gid}/invites", headers=a, json={"max_uses": 3})).json()["code"]
    for i in range(3):
        h, _, _ = await new_resident()
        assert (await client.post("/v1/groups/join", headers=h, json={"code": code, "display_name": f"m{i}"})).status_code == 200
    h, _, _ = await new_resident()
    assert (await client.post("/v1/groups/join", headers=h, json={"code": code, "display_name": "late"})).status_code == 404
    code2 = (await client.post(f"/v1/groups/{gid}/invites", headers=a, json={"max_uses": 5})).json()["code"]
    async with app.state.sessionmaker() as s:
        await s.execute(text("UPDATE family_invites SET expires_at = now() - interval '1 minute'"))
        await s.commit()
    assert (await client.post("/v1/groups/join", headers=h, json={"code": code2, "display_name": "x"})).status_code == 404


async def test_group_is_capped(client, new_resident, app):
    a, _, _ = await new_resident()
    gid = (await client.post("/v1/groups", headers=a, json={"name": "g", "display_name": "a"})).json()["id"]
    async with app.state.sessionmaker() as s:
        await s.execute(text("UPDATE family_groups SET max_members = 2 WHERE id = :g"), {"g": gid})
        await s.commit()
    code = (await client.post(f"/v1/groups/{gid}/invites", headers=a, json={"max_uses": 5})).json()["code"]
    b, _, _ = await new_resident()
    c, _, _ = await new_resident()
    assert (await client.post("/v1/groups/join", headers=b, json={"code": code, "display_name": "b"})).status_code == 200
    r = await client.post("/v1/groups/join", headers=c, json={"code": code, "display_name": "c"})
    assert r.status_code == 409 and r.json()["code"] == "limit_exceeded"


async def test_non_member_sees_nothing_of_a_group(client, new_resident):
    people, gid = await family(client, new_resident, n=2)
    outsider, _, _ = await new_resident()
    for method, path in [("GET", f"/v1/groups/{gid}"), ("GET", f"/v1/groups/{gid}/statuses"),
                         ("GET", f"/v1/groups/{gid}/pfif.xml"), ("POST", f"/v1/groups/{gid}/invites"),
                         ("POST", f"/v1/groups/{gid}/leave"),
                         ("DELETE", f"/v1/groups/{gid}/members/{people[1][1]}")]:
        r = await client.request(method, path, headers=outsider)
        assert r.status_code == 404, (method, path, r.status_code)
    assert (await client.get("/v1/groups", headers=outsider)).json() == []
    missing = await client.get("/v1/groups/999999", headers=outsider)
    assert missing.status_code == 404 and missing.json() == (await client.get(f"/v1/groups/{gid}", headers=outsider)).json() | {
        "error": "group 999999 not found"}


async def test_owner_removes_member_member_cannot(client, new_resident):
    people, gid = await family(client, new_resident)
    (owner, _), (mother, mother_id), (grandma, grandma_id) = people
    r = await client.delete(f"/v1/groups/{gid}/members/{grandma_id}", headers=mother)
    assert r.status_code == 403
    assert (await client.delete(f"/v1/groups/{gid}/members/{grandma_id}", headers=owner)).status_code == 204
    assert (await client.get(f"/v1/groups/{gid}", headers=grandma)).status_code == 404


async def test_owner_leaving_hands_over_and_last_one_out_deletes(client, new_resident):
    people, gid = await family(client, new_resident, n=2)
    (owner, _), (mother, mother_id) = people
    assert (await client.post(f"/v1/groups/{gid}/leave", headers=owner)).status_code == 204
    g = (await client.get(f"/v1/groups/{gid}", headers=mother)).json()
    assert g["owner_id"] == mother_id and g["members"][0]["role"] == "owner"
    assert (await client.post(f"/v1/groups/{gid}/leave", headers=mother)).status_code == 204
    assert (await client.get(f"/v1/groups/{gid}", headers=mother)).status_code == 404


async def test_a_resident_can_be_in_several_groups(client, new_resident):
    people, g1 = await family(client, new_resident, n=2)
    me = people[1][0]
    g2 = (await client.post("/v1/groups", headers=me, json={"name": "実家", "display_name": "娘"})).json()["id"]
    assert [g["id"] for g in (await client.get("/v1/groups", headers=me)).json()] == [g1, g2]


async def test_status_change_notifies_every_other_member_once_in_their_language(client, new_resident, app):
    people, gid = await family(client, new_resident, languages=["ja", "en", "ja"])
    (father, father_id), (mother, mother_id), (grandma, grandma_id) = people
    # A second group shared by father and mother: still one notification each.
    g2 = (await client.post("/v1/groups", headers=father, json={"name": "夫婦", "display_name": "父"})).json()["id"]
    code = (await client.post(f"/v1/groups/{g2}/invites", headers=father, json={})).json()["code"]
    await client.post("/v1/groups/join", headers=mother, json={"code": code, "display_name": "母"})

    r = await client.put("/v1/me/safety", headers=father, json={"status": "safe", "message": "会社にいます"})
    assert r.status_code == 200 and r.json()["version"] == 1
    got = await notifications(app, "family_status")
    assert sorted(n["resident_id"] for n in got) == [mother_id, grandma_id]
    by = {n["resident_id"]: n for n in got}
    assert by[mother_id]["title"] == "Family safety" and by[mother_id]["body"] == '父: safe — "会社にいます"'
    assert by[grandma_id]["body"] == "父: 無事です —「会社にいます」"

    await client.put("/v1/me/safety", headers=father, json={"status": "need_help"})
    got = await notifications(app, "family_status")
    assert len(got) == 4 and all(n["critical"] for n in got[2:])
    pulled = (await client.get(f"/v1/groups/{gid}/statuses", headers=grandma)).json()
    assert [(s["resident_id"], s["status"], s["version"]) for s in pulled] == [(father_id, "need_help", 2)]


async def test_location_is_visible_only_with_opt_in(client, new_resident):
    people, gid = await family(client, new_resident, n=2)
    (father, father_id), (mother, _) = people
    r = await client.put("/v1/me/safety", headers=father, json={"status": "safe", "location": {"lat": 37.7, "lon": 140.4}})
    assert r.status_code == 400 and r.json()["code"] == "location_not_shared"
    await client.put("/v1/me/safety", headers=father, json={"status": "safe"})
    assert (await client.get(f"/v1/groups/{gid}/statuses", headers=mother)).json()[0]["location"] is None
    await client.put("/v1/me/safety", headers=father, json={"status": "evacuated", "share_location": True,
                                                             "location": {"lat": 37.7, "lon": 140.4}})
    assert (await client.get(f"/v1/groups/{gid}/statuses", headers=mother)).json()[0]["location"] == {"lat": 37.7, "lon": 140.4}
    # Opting out again removes it for everyone.
    await client.put("/v1/me/safety", headers=father, json={"status": "safe"})
    got = (await client.get(f"/v1/groups/{gid}", headers=mother)).json()
    assert got["members"][0]["status"]["location"] is None


async def test_at_shelter_names_the_registry_shelter(client, new_resident, add_shelters, app):
    await add_shelters(shelter_record("S1", *WATARI, name="渡利小学校"))
    people, gid = await family(client, new_resident, n=2)
    (father, _), (mother, mother_id) = people
    r = await client.put("/v1/me/safety", headers=father, json={"status": "at_shelter", "shelter_id": "S1"})
    assert r.json()["shelter_name"] == "渡利小学校"
    assert (await notifications(app, "family_status"))[0]["body"] == "父: 渡利小学校に避難しています"
    bad = await client.put("/v1/me/safety", headers=father, json={"status": "at_shelter", "shelter_id": "nope"})
    assert bad.status_code == 400 and bad.json()["code"] == "unknown_shelter"
    long = await client.put("/v1/me/safety", headers=father, json={"status": "safe", "message": "あ" * 101})
    assert long.status_code == 422


async def test_status_reaches_no_one_outside_the_groups(client, new_resident, app):
    people, gid = await family(client, new_resident, n=2)
    outsider, outsider_id, _ = await new_resident()
    await client.put("/v1/me/safety", headers=people[0][0], json={"status": "safe"})
    assert outsider_id not in {n["resident_id"] for n in await notifications(app)}


async def test_statuses_fast_path_answers_as_the_route_does(client, routes_client, new_resident, monkeypatch):
    """GET /v1/groups/{id}/statuses is answered in front of the router for a member; every
    answer is the route's own, byte for byte, and whatever is not a member's ordinary
    request (an outsider, a bad token, a bad ``since``) reaches the route."""
    from my_evacuation.family import service

    people, gid = await family(client, new_resident, n=3)
    (father, _), (mother, _), (grandma, _) = people
    await client.put("/v1/me/safety", headers=father, json={"status": "evacuated", "share_location": True,
                                                             "location": {"lat": 37.7, "lon": 140.4}, "message": "避難所へ"})
    await client.put("/v1/me/safety", headers=mother, json={"status": "safe"})
    calls = count_calls(monkeypatch, service, "group_statuses")
    for headers, params in [(grandma, None), (father, None), (mother, {"since": "2000-01-01T00:00:00+09:00"}),
                            (mother, {"since": "2999-01-01T00:00:00Z"})]:
        fast = await client.get(f"/v1/groups/{gid}/statuses", headers=headers, params=params)
        assert calls == []
        slow = await routes_client.get(f"/v1/groups/{gid}/statuses", headers=headers, params=params)
        assert fast.status_code == slow.status_code == 200 and fast.content == slow.content, (fast.text, slow.text)
        assert fast.headers["content-type"] == slow.headers["content-type"]
        calls.clear()
    assert len((await client.get(f"/v1/groups/{gid}/statuses", headers=grandma)).json()) == 2
    outsider, _, _ = await new_resident()
    for headers, path in [(outsider, f"/v1/groups/{gid}/statuses"), ({"Authorization": "Bearer nope"}, f"/v1/groups/{gid}/statuses"),
                          (grandma, f"/v1/groups/{gid}/statuses?since=yesterday"), (grandma, "/v1/groups/0/statuses"),
                          (grandma, f"/v1/groups/{gid}/statuses?since=a&since=b")]:
        fast = await client.get(path, headers=headers)
        slow = await routes_client.get(path, headers=headers)
        assert fast.status_code == slow.status_code and fast.status_code >= 400 and fast.json() == slow.json(), path
