"""Every resident-facing push text in all 16 languages, action first (issue 14).

Catalog checks (every key of ja.json in every language, the same placeholders) and a
compose run per language for every category and transition: within the lock-screen
limits, no placeholder left, no English for a non-English device, the plan never cut."""

from __future__ import annotations

import re
import string

import pytest

from alerts.delivery.compose import BODY_MAX, TITLE_MAX, compose, fit_body, load_messages, strip_markers
from alerts.facts import GroupFacts
from server.i18n import LANGUAGES, match_language, resolve_language

pytestmark = pytest.mark.filterwarnings("ignore")
_FMT = string.Formatter()


def _leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, (*path, k))
    else:
        yield path, node


def _placeholders(text: str) -> set[str]:
    return {f for _, f, _, _ in _FMT.parse(text) if f}


JA = dict(_leaves(load_messages("ja")))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_has_every_key_of_ja(lang):
    got = dict(_leaves(load_messages(lang)))
    missing = ["/".join(p) for p in JA if p not in got]
    assert not missing, f"{lang}.json lacks {missing}"
    for path, text in got.items():
        if path not in JA:
            continue
        assert isinstance(text, str), (lang, path)
        if JA[path]:
            assert text.strip() or path[-1].endswith("sep"), f"{lang}: {'/'.join(path)} is empty"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_match_ja(lang):
    got = dict(_leaves(load_messages(lang)))
    for path, ja_text in JA.items():
        assert _placeholders(got[path]) == _placeholders(ja_text), (lang, "/".join(path), got[path])


@pytest.mark.parametrize(
    "tag,lang",
    [("zh-Hans", "zh-Hans"), ("zh-CN", "zh-Hans"), ("zh", "zh-Hans"), ("zh-Hant", "zh-Hant"), ("zh-TW", "zh-Hant"),
     ("zh-HK", "zh-Hant"), ("pt-BR", "pt"), ("fil", "tl"), ("ja-easy", "ja-easy"), ("ja-x-easy", "ja-easy"),
     ("ja-JP", "ja"), ("en-US", "en"), ("vi-VN", "vi"), ("ne-NP", "ne"), ("xx", "en"), ("", "ja")],
)
def test_language_tags(tag, lang):
    assert resolve_language(tag) == lang


def test_unknown_tag_matches_nothing():
    assert match_language("xx") is None and match_language("klingon") is None


# --- compose, per language, per category and transition ---------------------------------

PLAN = {
    "ja": "警戒レベル4（自宅）: 祖母は今すぐ叔母の家へ車で避難（約15分）。父、母は避難の準備を（警戒レベル4で避難）。持ち物: お薬手帳、水、携帯ラジオほか。",
}
LONG_LANDSLIDE = (
    "＜概況＞ 降り続く大雨のため、警戒対象地域では土砂災害の危険度が非常に高まっています。"
    "＜とるべき措置＞ 崖の近くや谷の出口など土砂災害警戒区域等にお住まいの方は、"
    "市町村から発令される避難指示などの情報に留意し、危険な場所から全員避難してください。"
) * 3

# (category, type code, rank, told rank, warning names, intensity)
CASES = [
    ("earthquake", "VXSE53", 6, None, (), "5+"),
    ("earthquake", "VXSE53", 3, None, (), "3"),
    ("eew", "VXSE43", 2, None, (), "6-"),
    ("eew", "VXSE44", 1, None, (), None),
    ("tsunami", "VTSE41", 4, 3, (), None),
    ("tsunami", "VTSE41", 3, 4, (), None),
    ("tsunami", "VTSE41", 2, 3, (), None),
    ("weather_warning", "VPWW54", 5, 3, ("大雨特別警報", "洪水警報", "雷注意報"), None),
    ("weather_warning", "VPWW61", 4, 3, ("レベル４大雨危険警報",), None),
    ("weather_warning", "VPWW54", 3, 2, ("暴風雪警報", "なだれ注意報"), None),
    ("landslide", "VXWW50", 4, None, ("土砂災害警戒情報",), None),
    ("flood", "VXKO50", 4, 3, (), None),
    ("flood", "VXKO50", 5, 4, (), None),
    ("evacuation", None, 3, None, (), None),
    ("evacuation", None, 4, 3, (), None),
    ("evacuation", None, 5, 4, (), None),
    ("volcano", "VFVO50", 3, 2, (), None),
    ("volcano", "VFVO50", 5, 3, (), None),
    ("eruption", "VFVO56", 1, None, (), None),
    ("megaquake", "VYSE60", 1, None, (), None),
    ("lpgm", "VXSE62", 3, None, (), None),
    ("civil_protection", None, 5, None, (), None),
    ("heavy_rain", "VPOA50", 4, None, (), None),
    ("tornado", "VPHW50", 3, None, (), None),
]
GROUPS = {"earthquake": "quake", "lpgm": "lpgm", "megaquake": "megaquake", "eruption": "eruption", "flood": "river",
          "weather_warning": "weather", "landslide": "landslide", "volcano": "volcano", "tsunami": "tsunami",
          "eew": "eew"}
CATEGORY = {"lpgm": "earthquake", "megaquake": "earthquake", "eruption": "volcano"}


def _alert(case, *, drill=False):
    cat, type_code, *_ = case
    headline = {"evacuation": "【警戒レベル４】いわき市 避難指示", "civil_protection": "ミサイル発射。建物の中に避難してください。",
                "landslide": LONG_LANDSLIDE, "weather_warning": "＜概況＞ 低気圧の影響で大雨となっています。"}.get(cat, "気象庁の発表です。")
    payload = {"category": CATEGORY.get(cat, cat), "headline": headline, "title": headline, "is_drill": drill,
               "source": "jma" if type_code else "cap", "type_code": type_code, "msg_type": "alert"}
    return payload


def _facts(cat):
    g = GROUPS.get(cat)
    return GroupFacts.from_json({"group": g, "areas": {}}) if g else None


def _plan(lang):
    from my_evacuation.i18n import t

    who = "Bà"
    parts = [t(lang, "leave_now_one", who=who, dest="平第一小学校", means=t(lang, "means_car"),
               time=t(lang, "time", minutes=15)),
             t(lang, "prepare_many", who="A、B", level=4),
             t(lang, "plan_do", actions="窓を閉める、ブレーカーを落とす"),
             t(lang, "take", items="お薬手帳、水、ラジオ" + t(lang, "more_items"))]
    header = t(lang, "header", label=t(lang, "level_label", level=4), place=t(lang, "place_home"))
    return header + t(lang, "sentence_sep").join(parts) + t(lang, "sentence_end"), parts[0]


def _compose(lang, case, transition, *, guidance=None, drill=False, alert=None):
    cat, _, rank, told, names, intensity = case
    return compose(language=lang, transition=transition, alert=alert or _alert(case, drill=drill), alert_id=1,
                   event_id=2,
                   rank=rank if transition != "cleared" else (told or rank), told_rank=told or rank,
                   area_name="いわき市", place_kind="home", intensity=intensity, warning_names=names,
                   guidance=guidance, facts=_facts(cat))


_LEFTOVER = re.compile(r"\{[a-z_]+\}")


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("transition", ["new", "raised", "lowered", "cleared", "cancelled", "drill"])
def test_every_category_and_transition_renders(lang, transition):
    plan, first = _plan(lang)
    for case in CASES:
        drill = transition == "drill"
        tr = "new" if drill else transition
        for guidance in (None, plan if tr in ("new", "raised") else None):
            msg = _compose(lang, case, tr, guidance=guidance, drill=drill)
            where = (lang, transition, case[0], case[2], bool(guidance))
            assert msg.title and msg.body, where
            assert len(msg.title) <= TITLE_MAX and len(msg.body) <= BODY_MAX, (where, msg)
            assert not _LEFTOVER.search(msg.title + msg.body), (where, msg)
            assert "＜" not in msg.title and not msg.body.startswith("＜"), (where, msg)
            if drill:
                assert "訓練" in msg.title + msg.body, where
            if guidance:
                # The household's first sentence (who leaves, where to, how) is there whole.
                assert first in msg.body, (where, msg.body)
            if lang not in ("ja", "ja-easy") and case[0] not in ("civil_protection",):
                assert "(Japanese)" not in msg.body and "（日本語）" not in msg.body, (where, msg.body)


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_no_english_for_a_non_english_device(lang):
    en = {(c[0], c[2]): _compose("en", c, "new") for c in CASES}
    for case in CASES:
        msg = _compose(lang, case, "new")
        ref = en[(case[0], case[2])]
        assert msg.body != ref.body, (lang, case[0])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_action_first(lang):
    """A life-critical push leads with what to do, from the catalog's actions."""
    for case in CASES:
        if case[0] in ("tsunami", "evacuation", "eew") and case[2] >= 2:
            msg = _compose(lang, case, "new")
            action = load_messages(lang)["actions"][case[0]]
            wanted = action.get(str(case[2]))
            if wanted:
                assert msg.body.startswith(wanted.split("{")[0][:10]), (lang, case[0], msg.body)


def test_vi_evacuation_order_is_vietnamese_not_marked_japanese():
    """The issue's example: `Home: (Japanese) 【警戒レベル４】いわき市 避難指示` is gone."""
    case = ("evacuation", None, 4, None, (), None)
    plan, first = _plan("vi")
    msg = _compose("vi", case, "new", guidance=plan)
    assert "Lệnh sơ tán" in msg.title and "いわき市" in msg.title
    assert "(Japanese)" not in msg.body and "【警戒レベル４】" not in msg.body
    assert msg.body.startswith(load_messages("vi")["actions"]["evacuation"]["4"])
    assert first in msg.body


@pytest.mark.parametrize("lang", ["vi", "ne", "ja-easy", "ja", "en"])
def test_evacuation_order_body_carries_the_household_action(lang):
    case = ("evacuation", None, 4, None, (), None)
    plan, first = _plan(lang)
    msg = _compose(lang, case, "new", guidance=plan)
    assert first in msg.body.split("\n", 2)[1] if "\n" in msg.body else first in msg.body


def test_ja_easy_is_not_ja():
    for case in CASES:
        for transition in ("new", "lowered", "cleared", "cancelled"):
            ja, easy = _compose("ja", case, transition), _compose("ja-easy", case, transition)
            assert (ja.title, ja.body) != (easy.title, easy.body), (case, transition)
    easy = _compose("ja-easy", ("evacuation", None, 4, None, (), None), "new")
    assert "にげて ください" in easy.title + easy.body


@pytest.mark.parametrize("lang", LANGUAGES)
def test_long_landslide_text_never_cuts_the_plan(lang):
    case = ("landslide", "VXWW50", 4, None, ("土砂災害警戒情報",), None)
    plan, first = _plan(lang)
    msg = _compose(lang, case, "new", guidance=plan)
    assert first in msg.body and len(msg.body) <= BODY_MAX
    # Whatever of the plan is shown ends at a sentence (or the plan's own end), not mid-word.
    plan_part = msg.body[msg.body.index(first):]
    assert plan in msg.body or plan_part.split("\n")[0].endswith("…"), msg.body
    if lang == "ja":
        assert "叔" not in msg.body or plan in msg.body


def test_ja_plan_from_the_issue_is_whole_after_long_jma_text():
    case = ("landslide", "VXWW50", 4, None, ("土砂災害警戒情報",), None)
    msg = _compose("ja", case, "new", guidance=PLAN["ja"])
    assert PLAN["ja"] in msg.body
    assert msg.body.index(PLAN["ja"]) < (msg.body.find("降り続く") if "降り続く" in msg.body else len(msg.body))


def test_weather_title_is_never_a_section_marker():
    case = ("weather_warning", "VPWW54", 3, None, (), None)
    alert = _alert(case) | {"category": "other", "title": "＜概況＞ 低気圧の影響で大雨", "headline": "＜概況＞ 低気圧の影響で大雨"}
    for lang in ("ja", "en", "vi"):
        msg = compose(language=lang, transition="new", alert=alert, alert_id=1, event_id=1, rank=3, area_name="福島市")
        assert not msg.title.lstrip("【[").startswith("＜") and "＜概況＞" not in msg.title + msg.body, msg
    assert strip_markers("＜概況＞ 低気圧の影響で大雨") == "低気圧の影響で大雨"


def test_weather_title_names_the_warning():
    case = ("weather_warning", "VPWW54", 5, None, ("大雨特別警報", "洪水警報"), None)
    assert _compose("ja", case, "new").title.startswith("【大雨特別警報・洪水警報】")
    assert "Heavy Rain Emergency Warning" in _compose("en", case, "new").title


def test_cap_info_in_the_residents_language_is_used():
    case = ("evacuation", None, 4, None, (), None)
    alert = _alert(case) | {"infos": [{"language": "ja-JP", "headline": "避難指示"},
                                      {"language": "vi-VN", "headline": "Lệnh sơ tán khu vực Taira"}]}
    assert "Lệnh sơ tán khu vực Taira" in _compose("vi", case, "new", alert=alert).body
    assert "khu vực Taira" not in _compose("ne", case, "new", alert=alert).body


def test_japanese_free_text_reaches_japanese_readers_when_there_is_room():
    case = ("evacuation", None, 4, None, (), None)
    assert "【警戒レベル４】いわき市 避難指示" in _compose("ja", case, "new").body


def test_fit_body_keeps_whole_sentences():
    plan = "A: x leaves now for y. B gets ready. Take: z."
    body = fit_body("Go now.", "Fact.", plan, "free", ". ", limit=40)
    assert body.startswith("Go now.") and "x leaves now for y." in body and body.endswith("…")


def test_ja_easy_reads_the_area_in_kana():
    """やさしい日本語: the official kana reading of the area (JMA's code tables), not 相馬市."""
    case = ("tsunami", "VTSE41", 3, None, (), None)
    msg = compose(language="ja-easy", transition="new", alert=_alert(case), alert_id=1, event_id=1, rank=3,
                  area_name="相馬市", place_kind="home", facts=_facts("tsunami"))
    assert msg.title.endswith("そうまし") and "相馬市" not in msg.title
    assert _compose("ja", case, "new").title.endswith("いわき市")


def test_pull_titles_in_every_language():
    from alerts.delivery.compose import pull_title

    for lang in LANGUAGES:
        title = pull_title(lang, "tsunami", 4, headline="大津波警報", area_name="いわき市")
        assert title and len(title) <= TITLE_MAX and "{" not in title
    assert pull_title("vi", "evacuation", 4) == "Lệnh sơ tán"
    assert pull_title("ja", "weather_warning", 5, headline="＜概況＞ 大雨") == "特別警報"


# --- every alert kind of the reference set, through bousai simulate, in every language -----


def _reference_places() -> tuple[str, list]:
    """One place per JMA product in the reference samples (coded like its first area, so a
    document about any prefecture reaches it), in each of the 16 languages."""
    from alerts.sources import parse_document
    from tests.kits.paths import reference_path

    root = reference_path("jmaxml", "samples")
    docs = sorted(root.iterdir())
    seen: dict[str, dict[str, str]] = {}
    for path in docs:
        try:
            alerts = parse_document(path.read_bytes(), path.name)
        except Exception:  # a document the parser refuses is the parser's test
            continue
        for a in alerts:
            a = a if isinstance(a, dict) else a.to_dict()
            code_type = str(a.get("type_code") or "")[:6]
            cat = a.get("category")
            if not code_type or code_type in seen:
                continue
            for area in a.get("areas") or []:
                c = str(area.get("code") or "")
                if cat in ("eew", "earthquake") and len(c) == 3:
                    seen[code_type] = {"quake_area": c}
                elif cat == "tsunami" and len(c) == 3:
                    seen[code_type] = {"tsunami_area": c}
                elif len(c) == 7:
                    seen[code_type] = {"city": c}
                if code_type in seen:
                    break
    rows = ["id,lat,lon,language,city,quake_area,tsunami_area"]
    for code_type, codes in seen.items():
        for lang in LANGUAGES:
            rows.append(f"{code_type}:{lang},,,{lang},{codes.get('city', '')},{codes.get('quake_area', '')},"
                        f"{codes.get('tsunami_area', '')}")
    return "\n".join(rows) + "\n", docs


async def test_every_reference_alert_kind_renders_in_every_language(committed, redis_client):
    import io

    from alerts.simulate import add_residents, read_places, run_documents

    places_csv, docs = _reference_places()
    residents = await add_residents(committed, read_places(io.StringIO(places_csv)))
    out: list[dict] = []
    await run_documents(committed, redis_client, residents, [str(d) for d in docs], out.append)
    told = [o for o in out if "title" in o and o.get("action") != "hold"]
    assert told, "the reference set tells the test residents something"
    by_doc: dict[tuple, dict[str, dict]] = {}
    for o in told:
        product, lang = o["place"].split(":")
        assert o["language"] == lang
        assert o["title"] and o["body"], o
        assert len(o["title"]) <= TITLE_MAX and len(o["body"]) <= BODY_MAX, o
        assert not _LEFTOVER.search(o["title"] + o["body"]), o
        assert "＜" not in o["title"], o
        by_doc.setdefault((o["doc"], product, o["action"]), {})[lang] = o
    kinds = {o["category"] for o in told}
    assert {"eew", "earthquake", "tsunami", "weather_warning", "landslide"} <= kinds, kinds
    for key, per_lang in by_doc.items():
        assert set(per_lang) == set(LANGUAGES), key  # every language told, none dropped
        en = per_lang["en"]
        for lang, o in per_lang.items():
            if lang not in ("en",):
                assert o["title"] != en["title"] or o["category"] == "other", (key, lang, o["title"])
            if o["life_critical"] and o["action"] in ("new", "raise"):
                action = load_messages(lang)["actions"]
                assert any(o["body"].startswith(str(v)[:8]) for node in action.values() if isinstance(node, dict)
                           for v in node.values() if v), (key, lang, o["body"])


@pytest.mark.parametrize("tag,lang", [("zh-TW", "zh-Hant"), ("zh-CN", "zh-Hans"), ("zh", "zh-Hans"), ("pt-BR", "pt"),
                                      ("fil", "tl"), ("ja-x-easy", "ja-easy"), ("en-US", "en"), ("mn", "mn")])
def test_device_registration_accepts_tags_naming_one_of_the_16(tag, lang):
    from my_evacuation.residents.schemas import DeviceRegistration, DeviceUpdate

    assert DeviceRegistration(platform="android", language=tag).language == lang
    assert DeviceUpdate(language=tag).language == lang


def test_device_registration_refuses_a_language_it_cannot_speak():
    from pydantic import ValidationError

    from my_evacuation.residents.schemas import DeviceRegistration

    with pytest.raises(ValidationError):
        DeviceRegistration(platform="android", language="xx")
