"""Targeting fixes with real places: split areas in their parent's 地震情報細分区域, river forecasts
by the municipalities they name (each at its own section's level), 記録的短時間大雨情報 by its towns.

Places are written with the app's geocoder at points inside each JMA city area. Fukushima
variants of JMA's samples are derived in memory (codes and names replaced).
"""

from __future__ import annotations

import pytest

from alerts.sources import parse_document
from tests.kits.targeting import by_place
from tests.kits.paths import reference_path


async def ingest_bytes(world, data: bytes, name: str) -> tuple[int, dict]:
    alerts = parse_document(data, name)
    assert len(alerts) == 1
    d = alerts[0].to_dict()
    return await world.ingest_dict(d), d


# --- 地震情報細分区域 of split areas ---------------------------------------------------------------


async def test_shindo_sokuho_for_nakadori_reaches_split_areas_of_its_towns(world):
    # Real 震度速報 (2021-02-19) for 中通り (250) and 浜通り (251): 郡山市湖南 and 天栄村湯本 are in
    # 中通り for earthquakes, like the rest of 郡山市 and 天栄村; 会津 (252) is not in the report.
    alert = await world.ingest_file(reference_path("jmaxml", "real", "20210219010859_0_VXSE51_010000.xml"))
    _, konan = await world.home_in("0720302")
    _, yumoto = await world.home_in("0734402")
    _, tenei = await world.home_in("0734401")
    _, aizu = await world.home_in("0720200")
    got = by_place(await world.matches(alert))
    assert {konan, yumoto, tenei} <= set(got) and aizu not in got
    assert got[konan].area_code == got[yumoto].area_code == "250"


# --- 指定河川洪水予報 ------------------------------------------------------------------------------

# JMA's 16_06 sample (○○川: ○○○ station 氾濫危険 4, △△△ 避難判断 3, □□□ 氾濫注意 2), with
# Fukushima towns in its 浸水想定地区: 福島市 and 二本松市 only by districts, 本宮市 named whole
# under △△△, 郡山市 named whole under □□□.
RIVER_TOWNS = [
    ("<City>○○市</City>", "<CityCode>0000000</CityCode>", "<City>福島市</City>", "<CityCode>0720100</CityCode>"),
    ("<City>△△市</City>", "<CityCode>0000000</CityCode>", "<City>二本松市</City>", "<CityCode>0721000</CityCode>"),
    ("<City>◇◇市</City>", "<CityCode>0000000</CityCode>", "<City>本宮市</City>", "<CityCode>0721400</CityCode>"),
    ("<City>□□市</City>", "<CityCode>0000000</CityCode>", "<City>郡山市</City>", "<CityCode>0720300</CityCode>"),
]


def fukushima_river_forecast() -> bytes:
    raw = reference_path("jmaxml", "samples", "16_06_01_220728_VXKOii.xml").read_text(encoding="utf-8")
    for city, code, new_city, new_code in RIVER_TOWNS:
        old = f"{city}\n            {code}"
        assert raw.count(old) == 1, city
        raw = raw.replace(old, f"{new_city}\n            {new_code}")
    # 本宮市 named whole (no districts) for the △△△ station.
    old = "<City>本宮市</City>\n            <CityCode>0721400</CityCode>\n            <SubCityList>◇◇地区 ◇◇地区 ◇◇地区</SubCityList>"
    assert old in raw
    return raw.replace(old, old.replace("◇◇地区 ◇◇地区 ◇◇地区", "-")).encode("utf-8")


async def test_river_forecast_reaches_the_towns_it_names_each_at_its_sections_level(world):
    alert, d = await ingest_bytes(world, fukushima_river_forecast(), "vxko-fukushima")
    assert d["level"] == 4  # the document's highest (○○○ station)
    _, fukushima = await world.home_in("0720100")  # only districts named (○○地区): not the whole city
    _, nihonmatsu = await world.home_in("0721000")  # only districts named (△△地区)
    _, motomiya = await world.home_in("0721400")  # named whole, △△△ station: level 3
    _, koriyama = await world.home_in("0720301")  # named whole (0720300), □□□ station: level 2
    _, konan = await world.home_in("0720302")
    _, iwaki = await world.home_in("0720400")  # not named
    got = by_place(await world.matches(alert))
    assert set(got) == {motomiya, koriyama, konan}
    level_at = {a["code"]: a["level"] for a in d["areas"]}
    assert got[motomiya].area_code == "0721400" and level_at["0721400"] == 3
    assert got[koriyama].area_code == got[konan].area_code == "0720300" and level_at["0720300"] == 2
    districts = {(a["city_code"], a["name"]): a["level"] for a in d["areas"] if a["kind"] == "flood_district"}
    assert districts == {("0720100", "○○地区"): 4, ("0721000", "△△地区"): 3}


async def test_real_river_sample_targets_no_fukushima_place(world):
    # 六角川 (佐賀県): its towns are not Fukushima's, and its river section matches no column.
    alert = await world.ingest_file(reference_path("jmaxml", "samples", "16_02_02_220728_VXKOii.xml"))
    _, fukushima = await world.home_in("0720100")
    assert by_place(await world.matches(alert)) == {}


# --- 記録的短時間大雨情報 ---------------------------------------------------------------------------


def fukushima_vpoa50(lines: list[str]) -> bytes:
    raw = reference_path("jmaxml", "samples", "18_01_01_100806_VPOA50.xml").read_text(encoding="utf-8")
    raw = raw.replace("<Name>大阪府</Name>", "<Name>福島県</Name>").replace("<Code>270000</Code>", "<Code>070000</Code>")
    old = "\n１１時３０分大阪府で記録的短時間大雨\n大阪市中央区で１３０ミリ"
    assert old in raw
    return raw.replace(old, "\n" + "\n".join(["１１時３０分福島県で記録的短時間大雨", *lines])).encode("utf-8")


@pytest.mark.parametrize(
    "lines, reached",
    [
        (["郡山市付近で約１２０ミリ", "いわき市付近で約１００ミリ"], {"0720301", "0720302", "0720400"}),
        (["郡山市湖南町付近で約１１０ミリ"], {"0720302"}),
    ],
)
async def test_record_rain_reaches_the_towns_it_names_not_the_prefecture(world, lines, reached):
    alert, _ = await ingest_bytes(world, fukushima_vpoa50(lines), "vpoa50-fukushima")
    places = {}
    for code in ("0720301", "0720302", "0720400", "0720100", "0720200", "0736800"):
        places[(await world.home_in(code))[1]] = code
    got = by_place(await world.matches(alert))
    assert {places[p] for p in got} == reached
