"""Safety checks ask only residents whose own places are hit; watchers of a relative's place
are told how their family is doing. A second answer updates the first (issue 12 item 11)."""

from __future__ import annotations

from sqlalchemy import text

from tests.kits.residents import WATARI
from tests.kits.family import family, notifications
from tests.kits.safety import QUAKE, start

TOKYO = (35.6812, 139.7671)
# 避難指示 for 福島市 (072010) by its municipality code.
EVAC_FUKUSHIMA = {"source": "cap", "event_id": "ev-fks-4", "category": "evacuation", "level": 4,
                  "areas": [{"code": "072010", "kind": "municipality"}]}


async def _watcher_in_family(client, new_resident):
    """Parents at home in 福島市 渡利 (group of 2) and a child living in Tokyo who registered
    the parents' home as a `family` place and joined their group."""
    people, gid = await family(client, new_resident, n=2)
    child, child_id, _ = await new_resident(home=TOKYO)
    r = await client.post("/v1/me/places", headers=child, json={"kind": "family", "lat": WATARI[0], "lon": WATARI[1]})
    assert r.status_code == 201, r.text
    code = (await client.post(f"/v1/groups/{gid}/invites", headers=people[0][0], json={})).json()["code"]
    assert (await client.post("/v1/groups/join", headers=child,
                              json={"code": code, "display_name": "長男"})).status_code == 200
    return people, (child, child_id)


async def test_quake_at_a_relatives_home_asks_the_parents_not_the_watcher(client, new_resident, app):
    people, (child, child_id) = await _watcher_in_family(client, new_resident)
    (p1, p1_id), (p2, p2_id) = people
    await client.put("/v1/me/safety", headers=p1, json={"status": "safe", "message": "家にいます"})

    assert await start(app, [p1_id, p2_id, child_id]) == 2
    prompts = await notifications(app, "safety_check")
    assert sorted(p["resident_id"] for p in prompts) == sorted([p1_id, p2_id])
    assert (await client.get("/v1/me/safety-checks", headers=child)).json() == []

    watch = await notifications(app, "family_watch")
    assert [w["resident_id"] for w in watch] == [child_id]
    assert watch[0]["title"] == "家族の安否"
    assert "父: 無事です" in watch[0]["body"] and "家にいます" in watch[0]["body"]
    assert "まだ回答のない家族: 母" in watch[0]["body"]
    # An update of the same event tells the watcher nothing twice.
    await start(app, [p1_id, p2_id, child_id], {**QUAKE, "areas": [{"code": "250", "intensity": "6-"}]}, alert_id=2)
    assert len(await notifications(app, "family_watch")) == 1


async def test_evacuation_order_for_a_relatives_town_does_not_ask_the_watcher(client, new_resident, app):
    people, (child, child_id) = await _watcher_in_family(client, new_resident)
    ids = [rid for _, rid in people]
    assert await start(app, ids + [child_id], EVAC_FUKUSHIMA) == 2
    async with app.state.sessionmaker() as s:
        asked = (await s.execute(text("SELECT resident_id FROM safety_checks ORDER BY resident_id"))).scalars().all()
    assert child_id not in asked and sorted(asked) == sorted(ids)
    assert [w["resident_id"] for w in await notifications(app, "family_watch")] == [child_id]


async def test_a_watcher_whose_own_place_is_hit_is_asked(client, new_resident, app):
    people, (child, child_id) = await _watcher_in_family(client, new_resident)
    # Back home for the holidays: the current location is in 福島市 too.
    r = await client.put("/v1/me/location", headers=child, json={"lat": WATARI[0], "lon": WATARI[1], "accuracy_m": 20})
    assert r.status_code in (200, 204), r.text
    assert await start(app, [child_id]) == 1
    assert await notifications(app, "family_watch") == []


async def test_a_second_answer_updates_the_first_and_the_family_hears_it(client, new_resident, app):
    people, _ = await family(client, new_resident, n=2)
    (father, father_id), (mother, mother_id) = people
    await start(app, [father_id, mother_id])
    check_id = (await client.get("/v1/me/safety-checks", headers=mother)).json()[0]["id"]
    first = await client.post(f"/v1/safety-checks/{check_id}/answer", headers=mother)
    assert first.json()["answered"] is True and first.json()["status"]["status"] == "safe"

    second = await client.post(f"/v1/safety-checks/{check_id}/answer", headers=mother,
                               json={"status": "need_help", "message": "足をけがした"})
    assert second.status_code == 200, second.text
    body = second.json()
    assert body["answered"] is False and body["updated"] is True and body["status"]["status"] == "need_help"
    checks = (await client.get("/v1/me/safety-checks", headers=mother)).json()
    assert checks[0]["answer_status"] == "need_help"
    assert (await client.get("/v1/me/safety", headers=mother)).json()["status"] == "need_help"
    told = [n for n in await notifications(app, "family_status") if n["resident_id"] == father_id]
    assert len(told) == 2 and "足をけがした" in told[1]["body"] and told[1]["critical"] is True

    # The same answer once more: nothing changes, nobody is told again.
    third = await client.post(f"/v1/safety-checks/{check_id}/answer", headers=mother,
                              json={"status": "need_help", "message": "足をけがした"})
    assert third.json()["updated"] is False
    assert len([n for n in await notifications(app, "family_status") if n["resident_id"] == father_id]) == 2
