"""JMA products of alerts/sources/jma/info.py (issue 11, item 7): VYSE60, VXSE62,
VPBS50 / VPFJ50 線状降水帯, VXSU, VPTW, and what 噴火速報 (volcano.py) gives.

Hand-written JMA-format fixtures are in fixtures/cap/jma/ (each says what it follows);
JMA's own samples are read from ../shared/reference and skipped when absent."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from shapely.geometry import Point, shape

from alerts.sources import parse_document, validate_alert_dict
from alerts.sources.cli import run_parse
from alerts.sources.jma.info import HOKKAIDO_SANRIKU_TARGET_CITIES

from tests.kits.paths import FIXTURES_CAP, REPO

JMA_FIXTURES = FIXTURES_CAP / "jma"


def parse_one(path: Path, data: bytes | None = None) -> dict:
    alerts = parse_document(data if data is not None else path.read_bytes(), file=str(path))
    assert len(alerts) == 1
    d = alerts[0].to_dict()
    assert validate_alert_dict(d) == [], validate_alert_dict(d)
    return d


def fixture(name: str) -> Path:
    return JMA_FIXTURES / name


def as_cancel(path: Path) -> bytes:
    return path.read_bytes().replace("<InfoType>発表</InfoType>".encode(), "<InfoType>取消</InfoType>".encode())


def test_bousai_parse_prints_valid_alerts_for_every_new_product(reference):
    files = sorted(str(p) for p in JMA_FIXTURES.glob("*.xml"))
    files += [str(reference / "jmaxml/samples/78_01_01_240613_VXSE62.xml"),
              str(reference / "jmaxml/samples/67_01_01_140927_VFVO56.xml")]
    out = io.StringIO()
    assert run_parse(files, out) == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == len(files)
    for d in lines:
        assert "error" not in d, d
        assert validate_alert_dict(d) == [], (d["file"], validate_alert_dict(d))
    assert {d["type_code"] for d in lines} == {"VYSE60", "VXSE62", "VPBS50", "VPFJ50", "VXSU", "VPTW", "VFVO56"}


# --- 北海道・三陸沖後発地震注意情報 -------------------------------------------------------


def test_vyse60_targets_the_fixed_fukushima_list():
    d = parse_one(fixture("VYSE60_hokkaido_sanriku_sample.xml"))
    assert (d["type_code"], d["category"], d["severity"], d["msg_type"]) == ("VYSE60", "earthquake", "Moderate", "alert")
    assert [(a["code"], a["name"]) for a in d["areas"]] == list(HOKKAIDO_SANRIKU_TARGET_CITIES)
    assert all(a["kind"] == "jma_city" for a in d["areas"])
    assert d["event_id"] == "20260302101000" and d["info_type"] == "発表"
    assert d["earthquake"]["magnitude"] == 7.2 and d["earthquake"]["hypocenter"]["name"] == "三陸沖"
    # 「後発地震に注意する期間」: one week from the earthquake.
    assert datetime.fromisoformat(d["expires_at"]) - datetime.fromisoformat(d["earthquake"]["origin_time"]) == timedelta(days=7)
    assert any("fixed Fukushima list" in w for w in d["parse_warnings"])


def test_vyse60_list_is_the_coast_of_the_area_fixture():
    areas = json.loads((REPO / "fixtures/areas/fukushima_areas.json").read_text())
    coastal = {(c["code"], c["name"]) for c in areas["jma_cities"] if c["tsunami"] == "250"}
    assert set(HOKKAIDO_SANRIKU_TARGET_CITIES) == coastal


def test_vyse60_cancel_and_drill():
    path = fixture("VYSE60_hokkaido_sanriku_sample.xml")
    d = parse_one(path, as_cancel(path))
    assert (d["msg_type"], d["areas"], d["severity"]) == ("cancel", [], "Minor")
    drill = path.read_bytes().replace("<Status>通常</Status>".encode(), "<Status>訓練</Status>".encode())
    d = parse_one(path, drill)
    assert d["is_drill"] is True and d["status"] == "訓練"


# --- 長周期地震動に関する観測情報 -------------------------------------------------------------


def test_vxse62_lpgm_class_per_area(reference):
    d = parse_one(reference / "jmaxml/samples/78_01_01_240613_VXSE62.xml")
    assert (d["type_code"], d["category"]) == ("VXSE62", "earthquake")
    by_code = {a["code"]: a for a in d["areas"]}
    assert by_code["220"]["lpgm_class"] == 3 and by_code["220"]["intensity"] == "4"
    assert by_code["212"]["lpgm_class"] == 1 and by_code["212"]["intensity"] == "5-"
    assert d["lpgm"] == {"max_lpgm_class": 3, "lg_category": "4"}
    assert d["earthquake"]["max_lpgm_class"] == 3
    assert d["severity"] == "Severe"
    # stations (city-like codes) stay inside their area, never targeted as areas
    assert all(len(a["code"]) == 3 for a in d["areas"])
    stations = by_code["220"]["lpgm_stations"]
    assert stations[0] == {"code": "0421200", "name": "登米市中田町", "lpgm_class": 3,
                           "lpgm_class_per_period": {"1": 2, "2": 3, "3": 2, "4": 1, "5": 0, "6": 0, "7": 0}}


def test_vxse62_class_4_is_extreme(reference):
    path = reference / "jmaxml/samples/78_01_01_240613_VXSE62.xml"
    data = path.read_bytes().replace(b"<MaxLgInt>3</MaxLgInt>", b"<MaxLgInt>4</MaxLgInt>")
    d = parse_one(path, data)
    assert d["lpgm"]["max_lpgm_class"] == 4 and d["severity"] == "Extreme"


# --- 線状降水帯 -----------------------------------------------------------------------------


def test_vpbs50_band_observed():
    d = parse_one(fixture("VPBS50_band_observed_hamadori.xml"))
    assert (d["type_code"], d["category"], d["severity"]) == ("VPBS50", "heavy_rain", "Severe")
    assert d["heavy_rain_band"] == "observed" and not d.get("heavy_rain_band_forecast")
    assert [(a["code"], a["kind"]) for a in d["areas"]] == [("070020", "jma_first"), ("0720400", "jma_city"),
                                                            ("0754100", "jma_city")]
    assert d["areas"][0]["warnings"] == [{"name": "線状降水帯発生", "status": "発表"}]


def test_vpbs50_band_imminent_is_a_forecast():
    d = parse_one(fixture("VPBS50_band_imminent_nakadori.xml"))
    assert (d["category"], d["severity"], d["heavy_rain_band"], d["heavy_rain_band_forecast"]) == (
        "heavy_rain", "Moderate", "imminent", True)
    assert [a["code"] for a in d["areas"]] == ["070010"]


def test_vpfj50_kencho_na_ooame():
    d = parse_one(fixture("VPFJ50_kencho_ooame_fukushima.xml"))
    assert (d["type_code"], d["category"], d["severity"], d["heavy_rain_band"]) == ("VPFJ50", "heavy_rain", "Severe", "observed")
    assert [(a["code"], a["name"]) for a in d["areas"]] == [("070011", "中通り北部"), ("070021", "浜通り北部")]


def test_vpfj50_half_day_advance_notice():
    d = parse_one(fixture("VPFJ50_band_half_day_fukushima.xml"))
    assert (d["category"], d["heavy_rain_band"], d["heavy_rain_band_forecast"], d["severity"]) == (
        "heavy_rain", "half_day", True, "Moderate")
    assert [a["code"] for a in d["areas"]] == ["070020"]


def test_vpfj50_without_band_wording_stays_generic(reference):
    d = parse_one(reference / "jmaxml/samples/22_02_02_160628_VPFJ50.xml")
    assert d["category"] == "other" and "heavy_rain_band" not in d


# --- 水位周知河川に関する情報 ----------------------------------------------------------------


def test_vxsu_levels_per_section_and_municipality():
    d = parse_one(fixture("VXSU_natsuigawa_level4.xml"))
    assert (d["type_code"], d["category"], d["level"], d["severity"]) == ("VXSU", "flood", 4, "Severe")
    sections = {a["name"]: a for a in d["areas"] if a["kind"] == "river_section"}
    assert sections["夏井川（平窪）"]["level"] == 4 and sections["夏井川（小川）"]["level"] == 3
    assert sections["夏井川（小川）"]["warnings"][0]["status"] == "継続"
    assert not any(a["code"] == "070000" for a in d["areas"])  # the prefecture is routing, not the flood area
    # 小野町 is named whole for the 小川 stretch (level 3): a city area, its own level
    (town,) = [a for a in d["areas"] if a["kind"] == "city"]
    assert (town["code"], town["level"], town["warnings"][0]["name"]) == ("0752200", 3, "レベル３氾濫警報")
    # いわき市 is named only by districts: district entries at their own station's level, no city entry
    districts = {a["name"]: a["level"] for a in d["areas"] if a["kind"] == "flood_district"}
    assert districts == {"平地区": 4, "赤井地区": 4, "平窪地区": 4, "小川地区": 3}
    assert not any(a["code"] == "0720400" for a in d["areas"])


def test_vxsu_lifted_is_level_0():
    path = fixture("VXSU_natsuigawa_level4.xml")
    data = (path.read_bytes().decode()
            .replace("<Name>レベル４氾濫危険警報</Name>\n            <Code>40</Code>", "<Name>レベル４氾濫危険警報解除</Name>\n            <Code>10</Code>")
            .replace("<Name>レベル３氾濫警報</Name>\n            <Code>30</Code>", "<Name>レベル３氾濫警報解除</Name>\n            <Code>10</Code>")
            .replace("（発表）", "（解除）").replace("（継続）", "（解除）")).encode()
    d = parse_one(path, data)
    assert (d["level"], d["severity"]) == (0, "Minor")
    assert all(w["status"] == "解除" and w["level"] == 0
               for a in d["areas"] if a["kind"] == "river_section" for w in a["warnings"])
    assert all(a["level"] == 0 for a in d["areas"] if a["kind"] in ("city", "flood_district"))


# --- 台風解析・予報情報 -------------------------------------------------------------------


def test_vptw_storm_zones_become_geometry():
    d = parse_one(fixture("VPTW_typhoon_approaching_fukushima.xml"))
    assert (d["type_code"], d["category"], d["severity"]) == ("VPTW", "weather_warning", "Moderate")
    zones = [(a["zone"], a["radius_km"]) for a in d["areas"]]
    assert zones == [("暴風域", 150.0), ("暴風警戒域", 260.0)]  # 強風域 is not a storm zone
    geom = shape(d["geometry"])
    assert geom.contains(Point(140.96, 37.64))  # 南相馬市: inside the 24-hour 暴風警戒域
    assert not geom.contains(Point(130.4, 33.6))  # 福岡
    assert d["typhoon"]["number"] == "2615" and d["typhoon"]["positions"][0]["pressure_hpa"] == "965"


# --- 噴火速報 (volcano.py, unchanged) -----------------------------------------------------------


def test_vfvo56_has_city_entries(reference):
    d = parse_one(reference / "jmaxml/samples/67_01_01_140927_VFVO56.xml")
    assert (d["type_code"], d["category"]) == ("VFVO56", "volcano")
    cities = [a for a in d["areas"] if a["kind"] == "city"]
    assert [a["code"] for a in cities] == ["2042900", "2043200", "2120300", "2122000"]
    assert all(a["warnings"][0]["name"] == "噴火" for a in cities)


def test_vpbs50_cancel_without_tag_keeps_its_category_from_the_title():
    path = fixture("VPBS50_band_observed_hamadori.xml")
    text = path.read_bytes().decode().replace("<InfoType>発表</InfoType>", "<InfoType>取消</InfoType>")
    start, end = text.index('<Information type="情報タグ">'), text.index("</Information>") + len("</Information>")
    d = parse_one(path, (text[:start] + text[end:]).encode())
    assert (d["msg_type"], d["category"], d["heavy_rain_band"]) == ("cancel", "heavy_rain", "observed")


def test_vpbs50_record_rain_targets_its_towns_not_the_whole_area():
    path = fixture("VPBS50_band_observed_hamadori.xml")
    text = (path.read_bytes().decode()
            .replace("（線状降水帯発生）", "（記録的短時間大雨）")
            .replace("<Condition>線状降水帯発生</Condition>", "<Condition>記録雨</Condition>")
            .replace("""          </Areas>
        </Item>
      </Information>""", """          </Areas>
          <Areas codeType="気象・地震・火山情報／市町村等">
            <Area>
              <Name>いわき市</Name>
              <Code>0720400</Code>
            </Area>
          </Areas>
        </Item>
      </Information>"""))
    d = parse_one(path, text.encode())
    assert (d["category"], d["severity"]) == ("heavy_rain", "Severe") and "heavy_rain_band" not in d
    assert [a["code"] for a in d["areas"]] == ["0720400", "0754100"]
    assert [a["code"] for a in d["coarse_areas"]] == ["070020"]
