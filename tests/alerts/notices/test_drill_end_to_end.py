"""Done-when: a drill reaches only drill opt-ins and is labelled 訓練 in every language."""

from __future__ import annotations

from my_evacuation.residents.schemas import LANGUAGES
from tests.kits.notices import WATARI_DISTRICT, deliver, new_resident, pushes
from tests.kits.residents import WATARI
from tests.kits.staff import FUKUSHIMA, staff_headers


async def _issue_drill(app, client) -> dict:
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    r = await client.post("/v1/staff/notices", headers=op, json={
        "level": 4, "is_drill": True, "target_kind": "polygon", "polygon": WATARI_DISTRICT})
    assert r.status_code == 201, r.text
    n = (await client.post(f"/v1/staff/notices/{r.json()['id']}/submit", headers=op)).json()
    assert n["state"] == "issued"  # a drill needs no second person
    return n


async def test_drill_never_reaches_residents_who_did_not_opt_in(app, client, engine):
    plain = [await new_resident(client, WATARI, language=lang) for lang in ("ja", "en")]
    n = await _issue_drill(app, client)
    for lang, m in n["messages"].items():
        assert "訓練" in m["headline"], lang
    await deliver(app, n["alert_id"])
    assert not set(await pushes(engine, n["alert_id"])) & set(plain)


async def test_drill_reaches_drill_opt_ins_labelled_in_their_language(app, client, engine):
    opted = {lang: await new_resident(client, WATARI, language=lang, preferences={"drills": True}, engine=engine)
             for lang in LANGUAGES}
    plain = await new_resident(client, WATARI)
    n = await _issue_drill(app, client)
    await deliver(app, n["alert_id"])
    got = await pushes(engine, n["alert_id"])
    assert set(got) == set(opted.values()) and plain not in got
    for lang, rid in opted.items():
        assert "訓練" in got[rid][0]["title"] + got[rid][0]["body"], lang
