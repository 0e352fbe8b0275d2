"""CAP coverage a Fukushima resident needs (issue 11, item 7): EDXL-DE envelopes, CAP
1.0/1.1, evacuation messages without the bousai eventCode, J-ALERT event names, IPAWS
required tests. Fixtures are hand-written in fixtures/cap/ (see CAP_PROFILE.md)."""

from __future__ import annotations

import pytest

from alerts.sources import parse_document, validate_alert_dict
from alerts.sources.cap_profile import evacuation_level
from alerts.sources.safexml import DocumentError, ForbiddenDTD, NotAnAlert

from tests.kits.paths import FIXTURES_CAP


def parse_all(name: str) -> list[dict]:
    path = FIXTURES_CAP / name
    out = [a.to_dict() for a in parse_document(path.read_bytes(), file=str(path))]
    for d in out:
        assert validate_alert_dict(d) == [], (name, validate_alert_dict(d))
    return out


# --- EDXL-DE ------------------------------------------------------------------------


def test_edxl_envelope_parses_each_alert_and_skips_the_bad_one():
    first, second = parse_all("edxl_lalert_evacuation.xml")
    assert (first["category"], first["level"], first["severity"]) == ("evacuation", 4, "Severe")
    assert first["areas"][0]["code"] == "072044"
    assert (second["category"], second["level"]) == ("evacuation", 3)
    assert second["areas"][0]["code"] == "072125"  # 5-digit 07212 with its check digit
    for d in (first, second):
        assert d["is_drill"] is False
        assert any("embedded CAP alert 2 of 3 skipped" in w for w in d["parse_warnings"])


def _edxl(*alerts: str, status: str = "Actual", ns: str = "urn:oasis:names:tc:emergency:EDXL:DE:1.0") -> bytes:
    objs = "".join(
        f"<contentObject><xmlContent><embeddedXMLContent>{a}</embeddedXMLContent></xmlContent></contentObject>"
        for a in alerts
    )
    return (f'<EDXLDistribution xmlns="{ns}"><distributionID>d1</distributionID><senderID>s</senderID>'
            f"<dateTimeSent>2025-09-12T05:10:00+09:00</dateTimeSent><distributionStatus>{status}</distributionStatus>"
            f"<distributionType>Report</distributionType>{objs}</EDXLDistribution>").encode()


def _cap(ident: str, event: str = "避難指示", sent: str = "<sent>2025-09-12T05:10:00+09:00</sent>",
         msg_type: str = "Alert") -> str:
    return (f'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>{ident}</identifier>'
            f"<sender>s@example.jp</sender>{sent}<status>Actual</status><msgType>{msg_type}</msgType>"
            f"<scope>Public</scope><info><language>ja-JP</language><event>{event}</event><urgency>Immediate</urgency>"
            f"<severity>Severe</severity><certainty>Likely</certainty><headline>{event}</headline>"
            f"<area><areaDesc>福島市</areaDesc><geocode><valueName>JISX0402</valueName><value>072010</value></geocode>"
            f"</area></info></alert>")


def test_edxl_exercise_envelope_makes_every_alert_a_drill():
    alerts = parse_document(_edxl(_cap("a1"), _cap("a2", "緊急安全確保"), status="Exercise"))
    assert [(a.level, a.is_drill, a.status) for a in alerts] == [(4, True, "Actual"), (5, True, "Actual")]


def test_edxl_de_2_namespace_is_accepted():
    alerts = parse_document(_edxl(_cap("a1"), ns="urn:oasis:names:tc:emergency:edxl:de:2.0"))
    assert len(alerts) == 1 and alerts[0].category == "evacuation"


def test_edxl_with_only_bad_alerts_is_an_error_and_without_cap_not_an_alert():
    with pytest.raises(DocumentError) as exc:
        parse_document(_edxl(_cap("a1", sent="")))
    assert exc.value.code == "malformed_cap"
    with pytest.raises(NotAnAlert):
        parse_document(_edxl('<Report xmlns="http://xml.publiccommons.ne.jp/xml"/>'))
    with pytest.raises(NotAnAlert):
        parse_document(_edxl(_cap("a1", msg_type="Ack")))


def test_edxl_with_a_dtd_is_still_refused():
    doc = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]>' + _edxl(_cap("a1"))
    with pytest.raises(ForbiddenDTD):
        parse_document(doc)


# --- CAP 1.0 / 1.1 ------------------------------------------------------------------


def test_cap_1_0_text_form_codes_and_bare_reference():
    (d,) = parse_all("cap10_emergency_safety.xml")
    assert (d["category"], d["level"], d["severity"], d["msg_type"]) == ("evacuation", 5, "Extreme", "update")
    assert d["event_id"] == "urn:bousai:072036:evac:2025-0913-01"  # bare 1.0 reference
    assert d["areas"] == [{"code": "072036", "name": "郡山市 水門町、中町、河内地区", "scheme": "JISX0402",
                           "kind": "municipality"}]
    assert d["geometry"]["type"] == "Polygon"


def test_cap_1_1_obsolete_kankoku_reads_as_level_4_with_a_note():
    (d,) = parse_all("cap11_evacuation_kankoku.xml")
    assert (d["category"], d["level"], d["severity"]) == ("evacuation", 4, "Severe")
    assert any("避難勧告" in w and "2021" in w for w in d["parse_warnings"])


def test_reference_cap_1_1_still_parses(parse_ref):
    d = parse_ref("cap/v1dot1_appendix_adot2.xml")
    assert d["category"] == "weather_warning" and d["is_drill"] is False


# --- evacuation level words -----------------------------------------------------------


def test_lift_read_from_the_description():
    (d,) = parse_all("evacuation_words_in_description.xml")
    assert (d["category"], d["level"], d["severity"], d["msg_type"]) == ("evacuation", 0, "Minor", "update")
    assert d["event_id"] == "urn:bousai:072044:evac:2025-0912-01"


@pytest.mark.parametrize(
    ("event", "headline", "description", "level"),
    [
        ("避難情報", "【警戒レベル3】高齢者等避難 福島市", None, 3),
        ("避難情報", "避難指示 福島市 渡利地区", None, 4),
        ("避難情報", "緊急安全確保 郡山市", None, 5),
        ("避難情報", "避難指示の解除 福島市", None, 0),
        ("避難情報", "高齢者等避難を解除しました", None, 0),
        ("避難情報", "お知らせ", "渡利地区に緊急安全確保を発令しました。", 5),
        ("避難情報", "お知らせ", "高齢者等避難を発令しました。解除の際はお知らせします。", 3),
        ("避難情報", "お知らせ", "避難指示を解除しました。", 0),
        ("避難準備・高齢者等避難開始", "避難準備・高齢者等避難開始", None, 3),
        ("避難勧告", "避難勧告 楢葉町", None, 4),
        ("避難情報", "お知らせ", "特にありません。", None),
    ],
)
def test_level_words(event, headline, description, level):
    assert evacuation_level({}, headline, event, description, []) == level


def test_hazard_event_with_an_order_in_the_headline_is_evacuation():
    doc = _cap("x1", event="洪水").replace("<headline>洪水</headline>", "<headline>【警戒レベル4】避難指示 福島市</headline>")
    (a,) = parse_document(doc.encode())
    assert (a.category, a.level) == ("evacuation", 4)
    doc = _cap("x2", event="大雨警報").replace("<headline>大雨警報</headline>",
                                             "<headline>大雨警報（警戒レベル3相当）高齢者等避難の目安</headline>")
    (a,) = parse_document(doc.encode())
    assert a.category == "heavy_rain"  # JMA's 相当 wording is not a municipal order
    doc = _cap("x3", event="土砂災害警戒情報").replace("<headline>土砂災害警戒情報</headline>",
                                                 "<headline>土砂災害警戒情報 避難指示の発令の目安です</headline>")
    (a,) = parse_document(doc.encode())
    assert a.category == "landslide"


# --- J-ALERT -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["jalert_missile_launch_info.xml", "jalert_kokumin_hogo_terror.xml"])
def test_jalert_event_names_are_civil_protection(name):
    (d,) = parse_all(name)
    assert (d["category"], d["severity"], d["is_drill"]) == ("civil_protection", "Extreme", False)


@pytest.mark.parametrize("event", ["ミサイル発射情報", "国民保護情報", "弾道ミサイル情報", "航空攻撃情報",
                                   "ゲリラ・特殊部隊攻撃情報", "大規模テロ情報"])
def test_each_jalert_name(event):
    (a,) = parse_document(_cap("j1", event=event).encode())
    assert (a.category, a.severity) == ("civil_protection", "Extreme")


# --- IPAWS / SAME tests ----------------------------------------------------------------


def test_required_monthly_test_is_a_drill_with_status_kept():
    (d,) = parse_all("ipaws_required_monthly_test.xml")
    assert d["is_drill"] is True and d["status"] == "Actual"
    assert any("RMT" in w for w in d["parse_warnings"])


def test_required_weekly_test_in_cap_1_0_text_form():
    doc = (b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.0"><identifier>t1</identifier><sender>s</sender>'
           b"<sent>2025-10-01T11:00:00-04:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>"
           b"<info><event>Required Weekly Test</event><urgency>Unknown</urgency><severity>Unknown</severity>"
           b"<certainty>Unknown</certainty><eventCode>SAME=RWT</eventCode></info></alert>")
    (a,) = parse_document(doc)
    assert a.is_drill is True and a.status == "Actual"


def test_status_test_is_a_drill():
    doc = _cap("t2").replace("<status>Actual</status>", "<status>Test</status>")
    (a,) = parse_document(doc.encode())
    assert a.is_drill is True and a.status == "Test"


def test_real_ipaws_administrative_message_is_not_a_test(parse_ref):
    d = parse_ref("cap/ipaws-5e6dd964023f1930ef638846.xml")  # SAME=ADR, a real message
    assert d["is_drill"] is False and d["status"] == "Actual"
