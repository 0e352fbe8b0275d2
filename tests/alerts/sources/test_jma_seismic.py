"""Earthquake products against real JMA messages (values read from the files)."""

from __future__ import annotations


def _areas(d, level):
    return {a["code"]: a for a in d["areas"] if a.get("level") == level}


def test_vxse53_fukushima_offshore_report(parse_ref):
    d = parse_ref("jmaxml/real/20210216143410_0_VXSE53_010000.xml")
    assert d["category"] == "earthquake" and d["msg_type"] == "alert" and d["type_code"] == "VXSE53"
    assert d["event_id"] == "20210216233143"
    assert d["issued_at"] == "2021-02-16T23:34:00+09:00"
    eq = d["earthquake"]
    assert eq["max_intensity"] == "1"
    assert eq["magnitude"] == 3.9
    hc = eq["hypocenter"]
    assert (hc["name"], hc["lat"], hc["lon"], hc["depth_km"]) == ("福島県沖", 37.7, 141.7, 50.0)
    areas, cities = _areas(d, "area"), _areas(d, "city")
    assert areas["250"]["name"] == "福島県中通り" and areas["250"]["intensity"] == "1"
    assert cities["0721100"]["name"] == "田村市" and cities["0721100"]["intensity"] == "1"
    assert cities["0721100"]["area_code"] == "250"
    assert d["is_drill"] is False and d["status"] == "通常"


def test_vxse53_noto_shallow_m76_intensity_7(parse_ref):
    d = parse_ref("jmaxml/real/20240101072429_0_VXSE53_010000.xml")
    eq = d["earthquake"]
    assert eq["max_intensity"] == "7"
    assert eq["magnitude"] == 7.6
    assert eq["hypocenter"]["name"] == "石川県能登地方"
    assert eq["hypocenter"]["depth_km"] == 0.0  # ごく浅い
    assert (eq["hypocenter"]["lat"], eq["hypocenter"]["lon"]) == (37.5, 137.2)
    assert _areas(d, "area")["390"]["intensity"] == "7"
    assert _areas(d, "city")["1738400"]["name"] == "志賀町"
    assert _areas(d, "city")["1738400"]["intensity"] == "7"
    assert d["severity"] == "Extreme"


def test_vxse53_far_field_nan_magnitude_and_unknown_depth(parse_ref):
    d = parse_ref("jmaxml/real/20230411000017_05859620_VXSE53.xml")
    eq = d["earthquake"]
    assert eq["magnitude"] is None
    assert eq["magnitude_text"] == "M不明"
    assert eq["hypocenter"]["name"] == "カムチャツカ半島付近"
    assert eq["hypocenter"]["depth_km"] is None
    assert (eq["hypocenter"]["lat"], eq["hypocenter"]["lon"]) == (56.7, 161.4)


def test_vxse51_intensity_flash_has_areas_but_no_hypocentre(parse_ref):
    d = parse_ref("jmaxml/real/20210217140808_0_VXSE51_010000.xml")
    assert d["type_code"] == "VXSE51"
    assert d["earthquake"]["max_intensity"] == "3"
    assert d["earthquake"]["hypocenter"] is None
    assert {a["code"]: a["intensity"] for a in d["areas"]} == {"222": "3", "251": "3"}


def test_vxse52_hypocentre_without_intensity(parse_ref):
    d = parse_ref("jmaxml/real/20210217140847_0_VXSE52_010000.xml")
    eq = d["earthquake"]
    assert eq["max_intensity"] is None
    assert eq["magnitude"] == 4.5
    assert (eq["hypocenter"]["name"], eq["hypocenter"]["lat"], eq["hypocenter"]["lon"], eq["hypocenter"]["depth_km"]) == (
        "福島県沖", 37.6, 141.6, 50.0)
    assert d["areas"] == []


def test_eew_warning_vxse43(parse_ref):
    d = parse_ref("jmaxml/samples/37_01_01_240613_VXSE43.xml")
    assert d["category"] == "eew" and d["severity"] == "Extreme" and d["type_code"] == "VXSE43"
    assert d["eew"]["is_warning"] is True
    assert d["earthquake"]["max_intensity"] == "5-"
    assert d["earthquake"]["magnitude"] == 5.8
    assert d["earthquake"]["hypocenter"]["name"] == "豊後水道"
    by = {a["code"]: a for a in d["areas"]}
    assert by["622"]["name"] == "愛媛県南予" and by["622"]["intensity"] == "5-"
    assert by["622"]["condition"] == "既に主要動到達と推測"
    assert by["632"]["intensity"] == "4" and by["632"]["arrival_time"] == "2024-04-17T23:15:02+09:00"


def test_eew_forecast_range_uses_upper_bound(parse_ref):
    d = parse_ref("jmaxml/samples/37_01_01_240613_VXSE43.xml")
    a = {a["code"]: a for a in d["areas"]}["592"]  # 広島県南西部 3〜4
    assert (a["intensity_from"], a["intensity_to"], a["intensity"]) == ("3", "4", "4")


def test_cancellations_are_cancel(parse_ref):
    for rel in (
        "jmaxml/samples/36_01_33_240613_VXSE44.xml",
        "jmaxml/samples/77_01_33_240613_VXSE45.xml",
        "jmaxml/samples/32-35_06_10_100915_VXSE61.xml",
    ):
        d = parse_ref(rel)
        assert d["msg_type"] == "cancel", rel
        assert d["areas"] == [], rel


def test_vxse52_53_56_cancellations(reference, parse_ref):
    import re

    seen = set()
    for f in sorted((reference / "jmaxml").rglob("*.xml")):
        m = re.search(r"(VXSE5[236])", f.name)
        if not m:
            continue
        text = f.read_text(encoding="utf-8", errors="replace")
        if "<InfoType>取消</InfoType>" in text:
            d = parse_ref(str(f.relative_to(reference)))
            assert d["msg_type"] == "cancel" and d["severity"] == "Minor"
            seen.add(m.group(1))
    assert seen == {"VXSE52", "VXSE53", "VXSE56"}
