"""The alert-facts model, table-driven: one behaviour per row."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from alerts import facts as af

JST = timezone(timedelta(hours=9))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("大雨特別警報", ("大雨", 5)),
        ("レベル５大雨特別警報", ("大雨", 5)),
        ("レベル４大雨危険警報", ("大雨", 4)),
        ("レベル３大雨警報", ("大雨", 3)),
        ("レベル２土砂災害注意報", ("土砂災害", 2)),
        ("大雨警報（土砂災害、浸水害）", ("大雨", 3)),
        ("洪水警報", ("洪水", 3)),
        ("雷注意報", ("雷", 2)),
        ("暴風雪警報", ("暴風雪", 3)),
        ("土砂災害警戒情報", ("土砂災害", 4)),
        ("警戒", ("土砂災害", 4)),
        ("解除", None),
        ("発表警報・注意報はなし", None),
        ("", None),
    ],
)
def test_warning_kind(name, expected):
    assert af.warning_kind(name) == expected


@pytest.mark.parametrize(
    ("intensity", "level"),
    [("1", 1), ("2", 1), ("3", 2), ("4", 3), ("5-", 4), ("5+", 4), ("6-", 5), ("6+", 5), ("7", 5), (None, 0)],
)
def test_intensity_on_the_common_scale(intensity, level):
    assert af.intensity_level(intensity) == level


def jma(type_code, category, areas, **kw):
    base = {"source": "jma", "msg_type": "alert", "type_code": type_code, "category": category, "event_id": "E1",
            "source_id": f"{type_code}-{kw.get('issued_at', '')}-{kw.get('serial', '')}",
            "issued_at": "2026-11-22T10:00:00+09:00", "areas": areas, "is_drill": False}
    base.update(kw)
    return base


@pytest.mark.parametrize(
    ("doc", "code", "level", "rank", "life_critical", "in_force"),
    [
        # tsunami grades
        (jma("VTSE41", "tsunami", [{"code": "250", "name": "福島県", "tsunami_grade": "major_warning"}]), "250", 5, 4, True, True),
        (jma("VTSE41", "tsunami", [{"code": "250", "name": "福島県", "tsunami_grade": "warning"}]), "250", 4, 3, True, True),
        (jma("VTSE41", "tsunami", [{"code": "250", "name": "福島県", "tsunami_grade": "advisory"}]), "250", 3, 2, False, True),
        (jma("VTSE41", "tsunami", [{"code": "250", "name": "福島県", "tsunami_grade": "none"}]), "250", 0, 0, False, False),
        # an offshore observation lists the area without a grade: it says nothing about it
        (jma("VTSE52", "tsunami", [{"code": "250", "name": "福島県", "kind": "tsunami_estimation"}]), "250", 0, 0, False, False),
        # EEW: 警報 area life-critical, 予報 not
        (jma("VXSE43", "eew", [{"code": "251", "name": "浜通り", "intensity": "5-", "eew_warning": True}]), "251", 4, 2, True, True),
        (jma("VXSE44", "eew", [{"code": "251", "name": "浜通り", "intensity": "3", "eew_warning": False}]), "251", 2, 1, False, True),
        # earthquake: the area's own intensity; 未入電 is 5弱+ and said so
        (jma("VXSE53", "earthquake", [{"code": "0720100", "name": "福島市", "intensity": "4"}]), "0720100", 3, 4, False, True),
        (jma("VXSE53", "earthquake", [{"code": "0720100", "name": "福島市", "intensity": None,
                                       "condition": "震度５弱以上未入電"}]), "0720100", 4, 5, False, True),
        # weather: per area, not the document's highest; 特別警報 life-critical
        (jma("VPWW53", "weather_warning", [{"code": "0720100", "name": "福島市",
                                             "warnings": [{"name": "大雨特別警報", "status": "発表"}]}]), "0720100", 5, 5, True, True),
        (jma("VPWW56", "landslide", [{"code": "0720100", "name": "福島市", "warnings": [
            {"name": "レベル２土砂災害注意報", "status": "継続", "level": 2}]}], level=4), "0720100", 2, 2, False, True),
        (jma("VPWW53", "weather_warning", [{"code": "0720100", "name": "福島市",
                                             "warnings": [{"name": "大雨警報", "status": "解除"}]}]), "0720100", 0, 0, False, False),
        # river: level 5 氾濫発生 life-critical
        (jma("VXKO", "flood", [{"code": "0720100", "name": "福島市", "kind": "city", "level": 5}]), "0720100", 5, 5, True, True),
        (jma("VXKO", "flood", [{"code": "0720100", "name": "福島市", "kind": "city", "level": 3}]), "0720100", 3, 3, False, True),
        # volcano: its own scale; 4–5 life-critical (噴火警報（居住地域）), 3 not
        (jma("VFVO50", "volcano", [{"code": "1042500", "name": "嬬恋村", "kind": "city", "warnings": [
            {"name": "火口周辺警報：入山規制等", "status": "発表"}]}], level=3), "1042500", 3, 3, False, True),
        (jma("VFVO50", "volcano", [{"code": "1042500", "name": "嬬恋村", "kind": "city", "warnings": [
            {"name": "噴火警報（居住地域）：避難等", "status": "発表"}]}], level=5), "1042500", 5, 5, True, True),
        (jma("VFVO56", "volcano", [{"code": "2042900", "name": "王滝村", "kind": "city"}]), "2042900", 5, 1, True, True),
    ],
)
def test_document_facts_per_area(doc, code, level, rank, life_critical, in_force):
    f = af.combine([(1, af.doc_facts(doc))]).at(code)
    assert (f.level, f.rank, f.life_critical, f.in_force) == (level, rank, life_critical, in_force)


@pytest.mark.parametrize(
    ("payload", "level", "life_critical"),
    [
        ({"category": "evacuation", "level": 5}, 5, True),
        ({"category": "evacuation", "level": 4}, 4, True),
        ({"category": "evacuation", "level": 3}, 3, False),
        ({"category": "evacuation", "level": 0}, 0, False),
        ({"category": "civil_protection"}, 5, True),
        ({"category": "civil_protection", "is_drill": True}, 5, False),  # a drill is never life-critical
        ({"category": "shelter", "severity": "Minor"}, 2, False),
    ],
)
def test_cap_facts(payload, level, life_critical):
    doc = {"source": "cap", "msg_type": "alert", "event_id": "c1", "issued_at": "2026-11-22T10:00:00+09:00",
           "areas": [], "severity": "Severe", **payload}
    f = af.combine([(1, af.doc_facts(doc))]).at(None)
    assert (f.level, f.life_critical) == (level, life_critical)


def test_newest_document_of_a_product_wins_whatever_the_arrival_order():
    older = af.doc_facts(jma("VTSE41", "tsunami", [{"code": "250", "name": "福島県", "tsunami_grade": "major_warning"}],
                             issued_at="2026-11-22T10:00:00+09:00"))
    newer = af.doc_facts(jma("VTSE41", "tsunami", [{"code": "250", "name": "福島県", "tsunami_grade": "advisory"}],
                             issued_at="2026-11-22T11:00:00+09:00"))
    assert af.combine([(2, older), (1, newer)]).at("250").tsunami_grade == "advisory"
    assert af.combine([(1, newer), (2, older)]).at("250").tsunami_grade == "advisory"


def test_same_report_time_is_ordered_by_serial():
    s5 = af.doc_facts(jma("VXSE44", "eew", [{"code": "251", "name": "x", "intensity": "5+", "eew_warning": True}], serial="5"))
    s4 = af.doc_facts(jma("VXSE44", "eew", [{"code": "251", "name": "x", "intensity": "3", "eew_warning": False}], serial="4"))
    assert af.combine([(1, s5), (2, s4)]).at("251").intensity == "5+"


def test_a_supplement_never_outweighs_the_authority():
    warning = af.doc_facts(jma("VTSE41", "tsunami", [{"code": "250", "name": "福島県", "tsunami_grade": "warning"}]))
    info = af.doc_facts(jma("VTSE51", "tsunami", [{"code": "250", "name": "福島県", "tsunami_grade": "advisory"}],
                            issued_at="2026-11-22T12:00:00+09:00"))
    facts = af.combine([(1, warning), (2, info)])
    assert facts.at("250").tsunami_grade == "warning" and facts.authoritative


def test_a_cancel_withdraws_its_own_product_only():
    warning = af.doc_facts(jma("VTSE41", "tsunami", [{"code": "250", "name": "福島県", "tsunami_grade": "warning"}]))
    info_cancel = af.doc_facts(jma("VTSE51", "tsunami", [], msg_type="cancel", issued_at="2026-11-22T12:00:00+09:00"))
    facts = af.combine([(1, warning), (2, info_cancel)])
    assert facts.in_force and not facts.cancelled and facts.at("250").tsunami_grade == "warning"


def test_any_eew_cancel_withdraws_the_eew():
    warned = af.doc_facts(jma("VXSE43", "eew", [{"code": "251", "name": "x", "intensity": "5-", "eew_warning": True}], serial="1"))
    cancel = af.doc_facts(jma("VXSE44", "eew", [], msg_type="cancel", serial="9"))
    facts = af.combine([(1, warned), (2, cancel)])
    assert facts.cancelled and not facts.in_force


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        (jma("VXSE43", "eew", []), "eew|E1"),
        (jma("VXSE44", "eew", []), "eew|E1"),
        (jma("VXSE51", "earthquake", []), "quake|E1"),
        (jma("VXSE53", "earthquake", []), "quake|E1"),
        (jma("VTSE52", "tsunami", []), "tsunami|E1"),
        (jma("VPWW53", "weather_warning", [], event_id="気象特別警報・警報・注意報|福島地方気象台|福島県気象警報・注意報",
             sender="福島地方気象台"), "weather|福島地方気象台|福島県"),
        (jma("VPNO50", "weather_warning", [], event_id="気象特別警報報知|福島地方気象台|福島県気象特別警報報知",
             sender="福島地方気象台"), "weather|福島地方気象台|福島県"),
        (jma("VPWW56", "landslide", [], event_id="気象警報・注意報（Ｒ０６）（土砂）|福島地方気象台|福島県土砂災害警報・注意報",
             sender="福島地方気象台"), "weather|福島地方気象台|福島県"),
    ],
)
def test_products_of_one_danger_share_a_group(payload, key):
    assert af.group_key(payload) == key


@pytest.mark.parametrize(
    ("category", "group", "age_s", "stale"),
    [("eew", "eew", 30, False), ("eew", "eew", 90, True), ("civil_protection", "cap", 600, False),
     ("civil_protection", "cap", 1200, True), ("tsunami", "tsunami", 86400, False)],
)
def test_freshness(category, group, age_s, stale):
    issued = datetime(2026, 11, 22, 10, 0, tzinfo=JST)
    assert af.is_stale(category, group, issued, issued + timedelta(seconds=age_s)) is stale


@pytest.mark.parametrize(
    ("payload", "family", "level"),
    [
        (jma("VPFJ50", "heavy_rain", [{"code": "070020", "name": "浜通り"}], heavy_rain_band="half_day"),
         "heavy_rain_band_forecast", 3),
        (jma("VPBS50", "heavy_rain", [{"code": "070020", "name": "浜通り"}], heavy_rain_band="observed"),
         "heavy_rain_band", 4),
        (jma("VPFJ50", "heavy_rain", [{"code": "070020", "name": "浜通り"}]), "bulletin_VPFJ50", 0),
        (jma("VYSE60", "earthquake", [{"code": "0720400", "name": "いわき市", "kind": "jma_city"}]),
         "subsequent_quake_advisory", 3),
        (jma("VXSE62", "earthquake", [{"code": "251", "name": "浜通り", "lpgm_class": 3}]), "long_period_motion", 4),
    ],
)
def test_products_a_fukushima_resident_needs(payload, family, level):
    d = af.doc_facts(payload)
    assert d.product.family == family
    code = payload["areas"][0]["code"]
    assert af.combine([(1, d)]).at(code).level == level


def test_a_withdrawn_warning_takes_what_repeated_it_with_it():
    warning = af.doc_facts(jma("VTSE41", "tsunami", [{"code": "250", "name": "福島県", "tsunami_grade": "warning"}]))
    info = af.doc_facts(jma("VTSE51", "tsunami", [{"code": "250", "name": "福島県", "tsunami_grade": "warning"}],
                            issued_at="2026-11-22T10:05:00+09:00"))
    cancel = af.doc_facts(jma("VTSE41", "tsunami", [], msg_type="cancel", issued_at="2026-11-22T10:10:00+09:00"))
    facts = af.combine([(1, warning), (2, info), (3, cancel)])
    assert facts.cancelled and not facts.in_force
