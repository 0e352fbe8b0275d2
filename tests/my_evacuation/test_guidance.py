"""plan_guidance: the plan's own sentence for an alert at a place, with the destination check."""

from __future__ import annotations

import pytest

from my_evacuation.guidance import plan_guidance
from tests.kits.residents import ONAHAMA, WATARI, shelter_record

LEVEL4_FLOOD = {"source": "cap", "msg_type": "alert", "category": "evacuation", "level": 4, "event_id": "e1",
                "headline": "【警戒レベル4】避難指示 福島市 渡利地区", "text": "阿武隈川の水位が上昇し、氾濫のおそれがあります。",
                "areas": [{"code": "072010", "name": "福島市"}], "is_drill": False}


@pytest.fixture
async def household(client, new_resident, add_shelters, full_plan):
    await add_shelters(
        shelter_record("S-SCHOOL", WATARI[0] + 0.01, WATARI[1], name="渡利小学校", hazards=("flood",)),
        shelter_record("S-ALT", WATARI[0] - 0.005, WATARI[1], name="南向台中学校", hazards=("flood", "earthquake")),
        shelter_record("S-QUAKE", WATARI[0] - 0.001, WATARI[1], name="近所の公園", hazards=("earthquake",)),
        status={"S-SCHOOL": {"is_open": True}, "S-ALT": {"is_open": True}, "S-QUAKE": {"is_open": True}},
    )
    headers, rid, home = await new_resident()
    r = await client.put("/v1/me/plan", headers=headers, json=full_plan)
    assert r.status_code == 200, r.text
    return rid, home


async def guidance(app, rid, home, alert, lang="ja", kind="home"):
    async with app.state.sessionmaker() as s:
        return await plan_guidance(s, rid, home, kind, alert, lang)


async def test_level4_names_each_members_destination_means_and_items(app, household):
    rid, home = household
    text = await guidance(app, rid, home, LEVEL4_FLOOD)
    assert text == ("警戒レベル4（自宅）: 祖母、父は今すぐ渡利小学校へ車で避難（約15分）。計画: 全員避難。"
                    "持ち物: お薬手帳、水、懐中電灯ほか。")
    en = await guidance(app, rid, home, LEVEL4_FLOOD, lang="en")
    assert en == ("Alert level 4 at home: 祖母, 父 leave now for 渡利小学校 by car (about 15 min). "
                  "Your plan: 全員避難. Take: お薬手帳, 水, 懐中電灯 and more.")


async def test_level3_sends_only_those_who_need_time(app, household):
    rid, home = household
    text = await guidance(app, rid, home, {**LEVEL4_FLOOD, "level": 3}, lang="en")
    assert text.startswith("Alert level 3 at home: 祖母 leaves now for 渡利小学校 by car (about 15 min). "
                           "父: get ready (leaves at level 4).")


async def test_closed_destination_names_nearest_open_suitable_shelter(app, household):
    rid, home = household
    async with app.state.sessionmaker() as s:
        from geo.shelters import repository
        await repository.set_status(s, "S-SCHOOL", is_open=False)
        await s.commit()
    text = await guidance(app, rid, home, LEVEL4_FLOOD)
    # 近所の公園 is nearer but designated for earthquakes only: the flood-suitable one is named.
    assert "渡利小学校は開設されていません" in text
    assert "祖母、父は今すぐ近くの開設中の避難所「南向台中学校」（" in text
    en = await guidance(app, rid, home, LEVEL4_FLOOD, lang="en")
    assert "渡利小学校 is not open" in en and "南向台中学校, the nearest open suitable shelter" in en


async def test_full_destination_is_said_to_be_full(app, household):
    rid, home = household
    async with app.state.sessionmaker() as s:
        from geo.shelters import repository
        await repository.set_status(s, "S-SCHOOL", capacity=100, occupancy=85)
        await s.commit()
    text = await guidance(app, rid, home, LEVEL4_FLOOD, lang="en")
    assert "渡利小学校 is full" in text and "南向台中学校" in text


async def test_destination_unsuitable_for_this_hazard_is_replaced(app, household):
    rid, home = household
    landslide = {**LEVEL4_FLOOD, "headline": "【警戒レベル4】避難指示", "text": "土砂災害の危険が高まっています"}
    text = await guidance(app, rid, home, landslide, lang="en")
    assert "渡利小学校 is not designated for landslides" in text
    assert "No open suitable shelter was found nearby" in text


async def test_no_plan_or_no_action_gives_none(app, household, new_resident):
    rid, home = household
    assert await guidance(app, rid, home, {**LEVEL4_FLOOD, "level": 0}) is None
    assert await guidance(app, rid, home, {"category": "earthquake", "areas": []}) is None
    assert await guidance(app, rid, home, {**LEVEL4_FLOOD, "is_drill": True}) is None
    assert await guidance(app, rid, None, LEVEL4_FLOOD, kind="current") is None
    _, other, other_home = await new_resident()
    assert await guidance(app, other, other_home, LEVEL4_FLOOD) is None


async def test_tsunami_warning_at_the_coast_sends_everyone(app, client, new_resident, add_shelters, full_plan):
    await add_shelters(shelter_record("HILL", ONAHAMA[0] + 0.01, ONAHAMA[1] - 0.01, name="高台公園",
                                      hazards=("tsunami",), code="072044"), status={"HILL": {"is_open": True}})
    headers, rid, home = await new_resident(home=ONAHAMA)
    full_plan["destinations"][0] = {**full_plan["destinations"][0], "shelter_id": "HILL", "hazards": ["tsunami"],
                                    "means": "walk", "minutes": 10}
    full_plan["hazards"] = {"flood": "no", "landslide": "no", "tsunami": "yes", "nuclear": "no"}
    assert (await client.put("/v1/me/plan", headers=headers, json=full_plan)).status_code == 200
    alert = {"category": "tsunami", "msg_type": "alert", "areas": [{"code": "250", "tsunami_grade": "warning"}]}
    text = await guidance(app, rid, home, alert, lang="en")
    assert text.startswith("Tsunami warning at home: 祖母, 父 leave now for 高台公園 on foot (about 10 min).")
    advisory = {"category": "tsunami", "areas": [{"code": "250", "tsunami_grade": "advisory"}]}
    assert await guidance(app, rid, home, advisory, lang="en") is None


async def test_nuclear_instruction_from_the_plan(app, household):
    rid, home = household
    alert = {"category": "other", "headline": "原子力災害対策特別措置法に基づく屋内退避指示", "areas": []}
    assert await guidance(app, rid, home, alert) == "原子力災害（自宅）: 屋内退避してください。窓を閉める。"


async def test_unknown_language_falls_back_to_english(app, household):
    rid, home = household
    assert (await guidance(app, rid, home, LEVEL4_FLOOD, lang="xx")).startswith("Alert level 4 at home")
