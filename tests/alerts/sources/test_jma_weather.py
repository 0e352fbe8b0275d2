"""Weather warnings and the other meteorology/flood/volcano products."""

from __future__ import annotations


def _by_code(d):
    return {a["code"]: a for a in d["areas"]}


def test_vpww53_fukushima_per_municipality_status(parse_ref):
    d = parse_ref("jmaxml/real/2b441518-4e79-342c-a271-7c25597f3a69.xml")
    assert d["category"] == "weather_warning" and d["type_code"] == "VPWW53"
    assert d["sender"] == "福島地方気象台"
    areas = _by_code(d)
    assert len(areas) == 61  # every 市町村等 of Fukushima, incl. split 郡山市湖南 etc.
    assert areas["0720100"]["name"] == "福島市"
    assert areas["0720100"]["warnings"] == [{"name": None, "code": None, "status": "発表警報・注意報はなし"}]
    iwaki = areas["0720400"]["warnings"]
    assert {(w["name"], w["status"]) for w in iwaki} == {("強風注意報", "解除"), ("波浪注意報", "解除")}
    assert d["severity"] == "Minor"  # everything lifted
    # 府県/一次細分 summaries are kept apart so they never widen targeting.
    assert {a["code"] for a in d["coarse_areas"]} >= {"070000", "070020"}
    assert all(a["level"] == "city" for a in d["areas"])


def test_vpww54_yamagata_continuing_warnings(parse_ref):
    d = parse_ref("jmaxml/real/20240725040511_0_VPWW54_060000.xml")
    assert d["type_code"] == "VPWW54"
    tsuruoka = _by_code(d)["0620300"]
    assert ("大雨警報", "継続") in {(w["name"], w["status"]) for w in tsuruoka["warnings"]}
    assert d["severity"] in ("Severe", "Extreme")


def test_vpww55_level_based_warning(parse_ref):
    d = parse_ref("jmaxml/samples/15_16_03_241226_VPWW55.xml")
    assert d["type_code"] == "VPWW55" and d["level"] == 4
    wakkanai = _by_code(d)["0121400"]
    w = wakkanai["warnings"][0]
    assert (w["name"], w["status"], w["level"]) == ("レベル４大雨危険警報", "発表", 4)
    assert w["significancy"][0]["name"] == "警戒レベル４相当"
    assert _by_code(d)["0151100"]["max_level"] == 3
    assert d["event_id"]  # EventID is empty in the document: a stable one is derived
    assert d["event_id_derived"] is True


def test_vpno50_special_warning_is_extreme(parse_ref):
    d = parse_ref("jmaxml/real/20240725040512_0_VPNO50_060000.xml")
    assert d["severity"] == "Extreme"
    assert {a["code"] for a in d["areas"]} == {"0620400", "0646100"}
    assert d["areas"][0]["warnings"][0]["name"] == "大雨特別警報"


def test_landslide_flood_heavy_rain_tornado_categories(parse_ref):
    assert parse_ref("jmaxml/samples/17_01_01_190529_VXWW50.xml")["category"] == "landslide"
    assert parse_ref("jmaxml/samples/18_03_01_190412_VPOA50.xml")["category"] == "heavy_rain"
    assert parse_ref("jmaxml/samples/19_01_01_091210_VPHW50.xml")["category"] == "tornado"
    f = parse_ref("jmaxml/samples/16_08_01_260312_VXKOii.xml")
    assert f["category"] == "flood" and f["level"] == 2
    cities = {a["code"] for a in f["areas"] if a["kind"] == "city"}
    # 南砺市 and 砺波市 are named whole; 小矢部市 only by its districts (浸水想定地区).
    assert {"1621000", "1620800"} <= cities and "1620900" not in cities


def test_vxww50_level4_areas(parse_ref):
    d = parse_ref("jmaxml/samples/17_01_01_190529_VXWW50.xml")
    active = [a for a in d["areas"] if a["in_force"]]
    assert active and d["severity"] == "Severe" and d["level"] == 4


def test_volcano_warning_level3(parse_ref):
    d = parse_ref("jmaxml/samples/45_01_01_200522_VFVO50.xml")
    assert d["category"] == "volcano" and d["level"] == 3 and d["severity"] == "Severe"
    volcano = [a for a in d["areas"] if a["kind"] == "volcano"]
    assert [(v["name"], v["code"]) for v in volcano] == [("浅間山", "306")]
    cities = {a["code"] for a in d["areas"] if a["kind"] == "city"}
    assert "1042500" in cities  # 群馬県嬬恋村


def test_volcano_eruption_flash_cancel(parse_ref):
    assert parse_ref("jmaxml/samples/67_01_04_140927_VFVO56.xml")["msg_type"] == "cancel"


def test_unknown_product_is_generic_other(parse_ref):
    d = parse_ref("jmaxml/samples/24_04_01_100806_VPFD50.xml")
    assert d["category"] == "other" and d["title"] == "府県天気予報"
    assert d["issued_at"] == "2008-01-10T05:00:00+09:00" and d["source_id"]


def test_dispatch_ignores_file_name(reference):
    from alerts.sources import parse_document

    data = (reference / "jmaxml/real/20210216143410_0_VXSE53_010000.xml").read_bytes()
    [a] = parse_document(data, file="weather-VPWW53-renamed.xml")
    assert a.category == "earthquake" and a.type_code == "VXSE53"
