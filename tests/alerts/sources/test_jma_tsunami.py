"""Tsunami products against real/sample JMA messages."""

from __future__ import annotations


def _grades(d):
    return {a["code"]: a.get("tsunami_grade") for a in d["areas"]}


def test_vtse41_major_warning_2011(parse_ref):
    d = parse_ref("jmaxml/samples/32-39_11_02_250206_VTSE41.xml")
    assert d["category"] == "tsunami" and d["severity"] == "Extreme"
    g = _grades(d)
    assert g["210"] == "major_warning"  # 岩手県
    assert g["220"] == "major_warning"  # 宮城県
    assert g["250"] == "major_warning"  # 福島県
    assert g["300"] == "warning"  # 茨城県
    assert g["100"] == "advisory"  # 北海道太平洋沿岸東部
    iwate = next(a for a in d["areas"] if a["code"] == "210")
    assert iwate["max_height_m"] is None and iwate["max_height_text"] == "巨大"
    assert d["tsunami"]["max_grade"] == "major_warning"
    assert d["earthquake"]["hypocenter"]["name"] == "三陸沖"


def test_vtse41_real_advisory_2023(parse_ref):
    d = parse_ref("jmaxml/real/20231009064018_06274659_VTSE41.xml")
    g = _grades(d)
    assert g["320"] == "advisory" and g["321"] == "advisory"
    assert d["severity"] == "Moderate"


def test_vtse41_and_vtse51_cancel(parse_ref):
    for rel in ("jmaxml/samples/38-39_03_01_210805_VTSE41.xml", "jmaxml/samples/38-39_03_02_210805_VTSE51.xml"):
        d = parse_ref(rel)
        assert d["msg_type"] == "cancel" and d["areas"] == []


def test_every_tsunami_area_grade_is_in_vocabulary(reference):
    from alerts.sources import parse_document

    for f in sorted((reference / "jmaxml").rglob("*VTSE4*.xml")):
        for a in parse_document(f.read_bytes())[0].to_dict()["areas"]:
            assert a["tsunami_grade"] in {"major_warning", "warning", "advisory", "forecast", "none"}, f
