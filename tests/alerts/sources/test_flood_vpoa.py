"""指定河川洪水予報 (VXKO) and 記録的短時間大雨情報 (VPOA50): what each area of the parsed
document is, and which places column it targets.

VXKO: a municipality the forecast names as a whole (浸水想定地区 ``SubCityList`` ``-``) is a
``city`` area; a municipality named only by districts gets ``flood_district`` areas (no
place targeted); every entry carries the level of its own station's section (主文), not the
document's highest. VPOA50: the towns its headline names, not its whole 発表細分.

Documents are JMA's samples in ../shared/reference (skipped when absent); Fukushima variants
are derived from them in memory (codes and names replaced), never stored in the repo.
"""

from __future__ import annotations

import pytest

from alerts.sources import parse_document
from alerts.sources.normalized import validate_alert_dict
from alerts.targeting.codes import code_targets

SAMPLES = "jmaxml/samples/"


def parse_bytes(data: bytes, name: str) -> dict:
    alerts = parse_document(data, file=name)
    assert len(alerts) == 1
    d = alerts[0].to_dict()
    assert validate_alert_dict(d) == []
    return d


def sample_bytes(reference, name: str) -> bytes:
    path = reference / SAMPLES / name
    if not path.is_file():
        pytest.skip(f"reference file missing: {SAMPLES}{name}")
    return path.read_bytes()


def by_kind(d: dict, kind: str) -> list[dict]:
    return [a for a in d["areas"] if a.get("kind") == kind]


def levels(d: dict, kind: str, key: str = "name") -> dict:
    return {a[key]: a.get("level") for a in by_kind(d, kind)}


# --- VXKO: one row per sample ---------------------------------------------------------------

VXKO_TABLE = [
    # file, document level, river sections {code: level}, cities {code: level}, districts {name: level}
    (
        "16_01_01_220728_VXKOii.xml", 2, {"123456789012": 2},
        {"0000000": 2},  # □□市 named whole (SubCityList "-")
        {"○○地区": 2, "△△地区": 2, "◇◇地区": 2},
    ),
    (
        "16_02_02_220728_VXKOii.xml", 3, {"890904000100": 3},
        {"4120600": 3, "4120900": 3, "4142300": 3, "4142400": 3, "4142500": 3},  # 六角川: five towns, whole
        {},
    ),
    (
        # 流量観測所 ○○○ at 3, △△△ and □□□ at 2: each town its own station's level
        "16_03_01_220728_VXKOii.xml", 3, {"123456789012": 3},
        {"0000000": 2},
        {"○○地区": 3, "△△地区": 2, "◇◇地区": 2},
    ),
    ("16_05_01_210630_VXKOii.xml", 3, {"123456789012": 3}, {}, {}),  # no 浸水想定地区 in the body
    (
        # ○○○ 氾濫危険 (4), △△△ 避難判断 (3), □□□ 氾濫注意 (2)
        "16_06_01_220728_VXKOii.xml", 4, {"123456789012": 4},
        {"0000000": 2},
        {"○○地区": 4, "△△地区": 3, "◇◇地区": 3},
    ),
    (
        # R08 names; 津沢 has no 主文 of its own: its towns take the section's level
        "16_08_01_260312_VXKOii.xml", 2, {"840410000100": 2},
        {"1621000": 2, "1620800": 2},  # 南砺市, 砺波市 named whole; 小矢部市, 高岡市, 射水市 only by districts
        {"荒川地区": 2, "石動地区": 2, "庄西地区": 2, "国吉地区": 2},
    ),
]


@pytest.mark.parametrize("name, doc_level, sections, cities, districts", VXKO_TABLE, ids=[r[0][:8] for r in VXKO_TABLE])
def test_vxko_areas_and_levels_per_sample(reference, name, doc_level, sections, cities, districts):
    d = parse_bytes(sample_bytes(reference, name), name)
    assert d["category"] == "flood" and d["level"] == doc_level
    assert levels(d, "river_section", "code") == sections
    assert levels(d, "city", "code") == cities
    got = levels(d, "flood_district")
    assert {k: got.get(k) for k in districts} == districts
    if not districts:
        assert got == {}
    for a in by_kind(d, "city") + by_kind(d, "flood_district"):
        assert a["code"] and a["name"]
        lvl = a["level"]
        assert [(w["status"], w["level"]) for w in a["warnings"]] == [("発表", lvl)]


def test_vxko_towns_named_only_by_districts_are_not_whole_towns(reference):
    d = parse_bytes(sample_bytes(reference, "16_08_01_260312_VXKOii.xml"), "16_08")
    cities = {a["code"] for a in by_kind(d, "city")}
    assert "1620900" not in cities and "1620200" not in cities and "1621100" not in cities
    oyabe = [a for a in by_kind(d, "flood_district") if a["city_code"] == "1620900"]
    assert {a["name"] for a in oyabe} == {"荒川地区", "石動地区", "若林地区", "松沢地区", "水島地区", "子撫地区", "藪波地区"}
    arakawa = next(a for a in oyabe if a["name"] == "荒川地区")
    assert arakawa["city_name"] == "小矢部市" and arakawa["stations"] == ["津沢", "石動"]
    assert arakawa["warnings"][0]["name"] == "レベル２氾濫注意報"
    # Targeting: the two towns named whole, nothing for districts or river sections.
    t = code_targets("jma", "flood", d["areas"])
    assert t.exact == {}
    assert sorted(t.ranges["jma_city_code"]) == [("1620800", "1620899", "1620800"), ("1621000", "1621099", "1621000")]


def test_vxko_lifted_section_is_level_zero_everywhere(reference):
    """A 解除 (R08 ``レベル２氾濫注意報解除``, Code 10): every entry at 0 with status 解除, so the
    residents who were told hear the all-clear; ``レベル２`` in the name is not a level."""
    raw = sample_bytes(reference, "16_08_01_260312_VXKOii.xml").decode("utf-8")
    raw = raw.replace("<Name>レベル２氾濫注意報</Name>", "<Name>レベル２氾濫注意報解除</Name>")
    raw = raw.replace("<Code>20</Code>", "<Code>10</Code>").replace("レベル２氾濫注意報（発表）", "レベル２氾濫注意報解除")
    raw = raw.replace("【警戒レベル２】", "")
    d = parse_bytes(raw.encode("utf-8"), "16_08-lifted")
    assert d["level"] == 0
    entries = by_kind(d, "river_section") + by_kind(d, "city") + by_kind(d, "flood_district")
    assert entries and all(a["level"] == 0 for a in entries)
    assert all(w["status"] == "解除" for a in entries for w in a["warnings"])


def test_vxko_cancel_names_no_area(reference):
    raw = sample_bytes(reference, "16_02_02_220728_VXKOii.xml").decode("utf-8").replace(
        "<InfoType>発表</InfoType>", "<InfoType>取消</InfoType>"
    )
    d = parse_bytes(raw.encode("utf-8"), "16_02-cancel")
    assert d["msg_type"] == "cancel" and d["areas"] == [] and d.get("level") is None


# --- VPOA50 ----------------------------------------------------------------------------------


def fukushima_vpoa50(reference, lines: list[str]) -> bytes:
    """JMA's 大阪府 sample, about 福島県 with the given observation lines."""
    raw = sample_bytes(reference, "18_01_01_100806_VPOA50.xml").decode("utf-8")
    raw = raw.replace("<Name>大阪府</Name>", "<Name>福島県</Name>").replace("<Code>270000</Code>", "<Code>070000</Code>")
    raw = raw.replace("大阪府記録的短時間大雨情報", "福島県記録的短時間大雨情報")
    old_text = "\n１１時３０分大阪府で記録的短時間大雨\n大阪市中央区で１３０ミリ"
    assert old_text in raw
    return raw.replace(old_text, "\n" + "\n".join(["１１時３０分福島県で記録的短時間大雨", *lines])).encode("utf-8")


VPOA_TABLE = [
    # observation lines, areas (code → name), 発表細分 moved to coarse_areas
    (["郡山市付近で約１２０ミリ"], {"0720300": "郡山市"}, True),
    (["郡山市湖南町付近で約１１０ミリ", "いわき市付近で約１００ミリ"], {"0720302": "郡山市湖南", "0720400": "いわき市"}, True),
    (["福島伊達市で１１０ミリ"], {"0721300": "伊達市"}, True),  # the seismic spelling
    (["須賀川市・鏡石町付近で約１００ミリ"], {"0720700": "須賀川市", "0734200": "鏡石町"}, True),
    (["どこか市付近で約１００ミリ"], {"070000": "福島県"}, False),  # a town we cannot place: the whole 発表細分
]


@pytest.mark.parametrize("lines, areas, coarse", VPOA_TABLE)
def test_vpoa50_targets_the_towns_it_names(reference, lines, areas, coarse):
    d = parse_bytes(fukushima_vpoa50(reference, lines), "vpoa50-fukushima")
    assert d["category"] == "heavy_rain" and d["severity"] == "Severe"
    assert {a["code"]: a["name"] for a in d["areas"]} == areas
    assert all(a["in_force"] == ["記録的短時間大雨情報"] for a in d["areas"])
    assert bool(d.get("coarse_areas")) == coarse
    if coarse:
        assert [a["code"] for a in d["coarse_areas"]] == ["070000"]
        t = code_targets("jma", "heavy_rain", d["areas"])
        assert "jma_pref_code" not in t.exact  # never the whole prefecture


def test_vpoa50_town_carries_its_rain(reference):
    d = parse_bytes(fukushima_vpoa50(reference, ["いわき市付近で約１００ミリ", "いわき市小名浜で１１０ミリ"]), "vpoa50")
    (iwaki,) = d["areas"]
    assert iwaki["code"] == "0720400" and iwaki["rain_mm"] == 110 and iwaki["issue_area_code"] == "070000"
    assert iwaki["observed"] == ["いわき市付近で約１００ミリ", "いわき市小名浜で１１０ミリ"]


@pytest.mark.parametrize(
    "name, codes",
    [
        ("18_01_01_100806_VPOA50.xml", ["270000"]),  # 大阪市中央区: not a town of the area data → 大阪府
        ("18_03_01_190412_VPOA50.xml", ["016010", "016020", "016030"]),  # 北海道: its 一次細分 as before
    ],
)
def test_vpoa50_samples_outside_fukushima_keep_their_issue_areas(reference, name, codes):
    d = parse_bytes(sample_bytes(reference, name), name)
    assert [a["code"] for a in d["areas"]] == codes and not d.get("coarse_areas")
