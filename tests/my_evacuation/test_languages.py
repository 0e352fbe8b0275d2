"""My Evacuation's resident-facing texts in all 16 languages (issue 14): plan guidance,
safety prompts and family notices, plan reviews and what a plan is missing, knowledge tips,
shelter openings — and a 避難指示 push for a household with a plan, action first."""

from __future__ import annotations

import string

import pytest

from alerts.delivery.compose import BODY_MAX, compose, load_messages
from alerts.shelters_live.messages import OPENED, WHY, opened
from my_evacuation.guidance import plan_guidance
from my_evacuation.i18n import catalog, resolve_language, t
from my_evacuation.knowledge.service import tip_text, tips
from server.i18n import LANGUAGES
from tests.kits.residents import WATARI, shelter_record

_FMT = string.Formatter()
JA = catalog("ja")


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in _FMT.parse(text) if f}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_has_every_key_and_the_same_placeholders(lang):
    got = catalog(lang)
    missing = sorted(set(JA) - set(got))
    assert not missing, f"my_evacuation/messages/{lang}.json lacks {missing}"
    for key, ja_text in JA.items():
        assert _fields(got[key]) == _fields(ja_text), (lang, key, got[key])
        if ja_text.strip() and not key.endswith(("sep", "separator", "_end")):
            assert got[key].strip(), (lang, key)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_sentences_split_the_same_way_in_guidance_and_pushes(lang):
    assert catalog(lang)["sentence_sep"] == load_messages(lang)["_meta"]["sentence_sep"]


def test_no_language_falls_back_to_english():
    for lang in LANGUAGES:
        if lang != "en":
            assert t(lang, "leave_now_one", who="A", dest="B", means="", time="") != t(
                "en", "leave_now_one", who="A", dest="B", means="", time=""), lang
    assert t("ja-easy", "level5_secure") != t("ja", "level5_secure")
    assert "にげて ください" in t("ja-easy", "leave_now_nodest_one", who="おばあさん")


@pytest.mark.parametrize("tag,lang", [("zh-TW", "zh-Hant"), ("zh-CN", "zh-Hans"), ("pt-BR", "pt"), ("fil", "tl"),
                                      ("ja-x-easy", "ja-easy"), ("xx", "en"), (None, "ja")])
def test_tags(tag, lang):
    assert resolve_language(tag) == lang


def test_every_tip_in_every_language():
    for tip in tips():
        assert set(LANGUAGES) <= set(tip["texts"]), tip["id"]
        for lang in LANGUAGES:
            assert tip["texts"][lang].strip(), (tip["id"], lang)
        assert tip_text(tip, "zh-TW") == tip["texts"]["zh-Hant"]
        assert tip["texts"]["ja-easy"] != tip["texts"]["ja"]


def test_shelter_openings_in_every_language():
    for lang in LANGUAGES:
        assert lang in OPENED and lang in WHY["plan"] and lang in WHY["nearby"], lang
        title, body = opened(lang, "渡利小学校", "plan")
        assert "渡利小学校" in title and "渡利小学校" in body and "{" not in body
    assert opened("pt-BR", "X", "nearby") == opened("pt", "X", "nearby")
    assert opened("ja-easy", "X", "plan") != opened("ja", "X", "plan")


PLAN_CODES = ("no_members", "hazard_unknown", "level_actions_empty", "departures", "member_no_leave_level",
              "member_no_destination", "no_destinations", "destination_no_means", "destination_no_time",
              "destination_no_route", "destination_unsuitable", "no_items", "no_contacts", "nuclear_not_set")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_plan_missing_and_warnings_have_words(lang):
    for code in PLAN_CODES:
        text = t(lang, f"plan_missing_{code}", hazard=t(lang, "hazard_flood"), level=4, name="祖母", dest="渡利小学校")
        assert text and "{" not in text, (lang, code)
    assert "渡利小学校" in t(lang, "plan_warning_shelter_not_designated", shelter="渡利小学校", hazard=t(lang, "hazard_flood"))


# --- the whole sentence: a 避難指示 for a household with a plan --------------------------------

LEVEL4 = {"source": "cap", "msg_type": "alert", "category": "evacuation", "level": 4, "event_id": "e1",
          "headline": "【警戒レベル４】福島市 避難指示", "title": "【警戒レベル４】福島市 避難指示",
          "areas": [{"code": "072010", "name": "福島市"}], "is_drill": False}
LONG_LANDSLIDE = {"source": "jma", "msg_type": "alert", "category": "landslide", "type_code": "VXWW50",
                  "event_id": "l1", "is_drill": False,
                  "headline": ("＜概況＞ 降り続く大雨のため、警戒対象地域では土砂災害の危険度が非常に高まっています。"
                               "＜とるべき措置＞ 崖の近くや谷の出口など土砂災害警戒区域等にお住まいの方は、"
                               "市町村から発令される避難指示などの情報に留意し、危険な場所から全員避難してください。") * 3,
                  "areas": [{"code": "0720100", "name": "福島市", "warnings": [{"name": "土砂災害警戒情報", "status": "発表"}]}]}


@pytest.fixture
async def household(client, new_resident, add_shelters, full_plan):
    await add_shelters(
        shelter_record("S-SCHOOL", WATARI[0] + 0.01, WATARI[1], name="渡利小学校", hazards=("flood", "landslide")),
        status={"S-SCHOOL": {"is_open": True}},
    )
    headers, rid, home = await new_resident()
    assert (await client.put("/v1/me/plan", headers=headers, json=full_plan)).status_code == 200
    return rid, home


@pytest.mark.parametrize("lang", ["vi", "ne", "ja-easy", "ja", "en", "my", "km", "th", "mn"])
@pytest.mark.parametrize("alert", [LEVEL4, LONG_LANDSLIDE], ids=["evacuation_order", "long_landslide"])
async def test_evacuation_push_leads_with_the_households_action(app, household, lang, alert):
    rid, home = household
    async with app.state.sessionmaker() as s:
        plan = await plan_guidance(s, rid, home, "home", alert, lang)
    assert plan, lang
    leave = t(lang, "leave_now_many", who=t(lang, "list_separator").join(["祖母", "父"]), dest="渡利小学校",
              means=t(lang, "means_car"), time=t(lang, "time", minutes=15))
    assert leave in plan, (lang, plan)
    msg = compose(language=lang, transition="new", alert=alert, alert_id=1, event_id=1, rank=4,
                  area_name="福島市", place_kind="home", guidance=plan,
                  warning_names=("土砂災害警戒情報",) if alert is LONG_LANDSLIDE else ())
    lines = msg.body.split("\n")
    # The general action, then this household's: who leaves, where to, how — whole.
    assert leave in lines[1], (lang, msg.body)
    assert len(msg.body) <= BODY_MAX
    assert "(Japanese)" not in msg.body and "＜" not in msg.body + msg.title
    if lang not in ("ja",):
        assert "降り続く" not in msg.body


@pytest.mark.parametrize("lang", LANGUAGES)
def test_safety_prompts_and_family_notices_in_every_language(lang):
    from my_evacuation.safety.service import render_reason

    for reason in ("intensity:6-", "intensity:7", "tsunami:major_warning", "tsunami:warning", "evacuation:4",
                   "civil_protection:"):
        text = render_reason(lang, reason)
        body = t(lang, "safety_check_body", reason=text)
        assert text and "{" not in body, (lang, reason)
        if lang != "en":
            assert body != t("en", "safety_check_body", reason=render_reason("en", reason)), (lang, reason)
    notice = t(lang, "family_status_body", name="母", status=t(lang, "status_safe"),
               message=t(lang, "family_message", message="公民館にいます"))
    assert "母" in notice and "公民館にいます" in notice
