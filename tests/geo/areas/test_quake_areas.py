"""地震情報細分区域 of every JMA city area: the one JMA assigns to its parent municipality.

JMA's 震源・震度に関する情報 (VXSE53) lists each municipality (``XXXXX00``) under the
地震情報細分区域 it belongs to. The forecast splits some municipalities (郡山市 → 0720301 郡山市 /
0720302 郡山市湖南) and puts a split part in another 一次細分 (会津), but for earthquakes the
municipality is one: every part takes its parent's area. The assignment is read here from
real and JMA-sample messages in ../shared/reference (independently of the fixture builder).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import create_engine, text

from geo.areas.loader import geocoder_from_fixture, load_areas_sync, read_fixture
from my_evacuation.cli import refresh_place_codes
from server.db import sync_url
from tests.kits.paths import REFERENCE


def jma_quake_areas() -> dict[str, set[str]]:
    """Municipality code ``XXXXX00`` of Fukushima → the 地震情報細分区域 codes JMA lists it under."""
    jmaxml = REFERENCE / "jmaxml"
    files = sorted((jmaxml / "real").glob("*.xml")) + sorted((jmaxml / "samples").glob("*.xml"))
    if not files:
        pytest.skip(f"no JMA messages at {jmaxml} (../shared/reference is absent)")
    out: dict[str, set[str]] = {}
    for path in files:
        root = ET.parse(path).getroot()
        if (root.findtext("{*}Control/{*}Title") or "") != "震源・震度に関する情報":
            continue
        for area in root.iterfind(".//{*}Intensity/{*}Observation/{*}Pref/{*}Area"):
            for city in area.iterfind("{*}City"):
                code = city.findtext("{*}Code") or ""
                if code.startswith("07"):
                    out.setdefault(code, set()).add(area.findtext("{*}Code"))
    if not out:
        pytest.skip(f"no 震源・震度に関する情報 for Fukushima in {jmaxml}")
    return out


def test_every_jma_city_sits_in_the_quake_area_jma_assigns_its_parent():
    jma = jma_quake_areas()
    cities = read_fixture()["jma_cities"]
    wrong = []
    for c in cities:
        parent = c["code"][:5] + "00"
        assert parent in jma, f"no JMA message lists {parent} ({c['name']}): cannot check it"
        assert len(jma[parent]) == 1, f"JMA lists {parent} under {jma[parent]}"
        if c["quake"] != next(iter(jma[parent])):
            wrong.append((c["code"], c["name"], c["quake"], jma[parent]))
    assert not wrong, wrong
    assert len(cities) == 61


def test_split_areas_take_their_parent_municipality_quake_area():
    by_code = {c["code"]: c for c in read_fixture()["jma_cities"]}
    # Forecasts put 郡山市湖南 and 天栄村湯本 in 会津; earthquakes report 郡山市 and 天栄村 whole, in 中通り.
    assert by_code["0720302"]["first"] == "070030"
    assert by_code["0720302"]["quake"] == by_code["0720301"]["quake"] == "250"
    assert by_code["0734402"]["quake"] == by_code["0734401"]["quake"] == "250"
    geo = geocoder_from_fixture()
    konan = geo.locate(37.4420, 140.1280)  # 郡山市湖南町
    assert konan.jma_city_code == "0720302" and konan.quake_area_code == "250"


def test_quake_area_polygons_follow_the_assignment():
    """会津 (252) no longer takes in 郡山市湖南: the 250 polygon covers both parts of 郡山市."""
    from geo.areas.loader import build_rows

    rows = {(r["kind"], r["code"]): r for r in build_rows(read_fixture())}
    konan = rows[("jma_city", "0720302")]["geom"].representative_point()
    assert rows[("quake", "250")]["geom"].intersects(konan)
    assert not rows[("quake", "252")]["geom"].contains(konan)


def test_reloading_areas_rederives_codes_of_stored_places(db_url):
    """A place stored while 郡山市湖南 was (wrongly) 252 gets 250 from `bousai setup`'s area load."""
    engine = create_engine(sync_url(db_url))
    try:
        with engine.begin() as conn:
            rid = conn.execute(text("INSERT INTO residents (language) VALUES ('ja') RETURNING id")).scalar_one()
            stale = conn.execute(
                text(
                    "INSERT INTO places (resident_id, kind, geom, municipality_code, jma_city_code, jma_matome_code,"
                    " jma_first_code, jma_pref_code, quake_area_code, tsunami_area_code) VALUES"
                    " (:r, 'home', ST_SetSRID(ST_MakePoint(140.128, 37.442), 4326), '072036', '0720302', '070032',"
                    " '070030', '070000', '252', NULL) RETURNING id"
                ),
                {"r": rid},
            ).scalar_one()
            right = conn.execute(
                text(
                    "INSERT INTO places (resident_id, kind, geom, municipality_code, jma_city_code, jma_matome_code,"
                    " jma_first_code, jma_pref_code, quake_area_code, tsunami_area_code) VALUES"
                    " (:r, 'work', ST_SetSRID(ST_MakePoint(140.47, 37.76), 4326), '072010', '0720100', '070011',"
                    " '070010', '070000', '250', NULL) RETURNING id"
                ),
                {"r": rid},
            ).scalar_one()
            before = dict(conn.execute(text("SELECT id, updated_at FROM places WHERE resident_id = :r"), {"r": rid}).all())
        load_areas_sync(db_url, quiet=True)
        refresh_place_codes(db_url)
        with engine.begin() as conn:
            rows = {
                r.id: r
                for r in conn.execute(
                    text("SELECT id, quake_area_code, jma_first_code, jma_matome_code, updated_at FROM places WHERE resident_id = :r"),
                    {"r": rid},
                )
            }
            assert rows[stale].quake_area_code == "250"
            # The forecast's own codes of the split area are left as JMA has them.
            assert (rows[stale].jma_first_code, rows[stale].jma_matome_code) == ("070030", "070032")
            assert rows[right].quake_area_code == "250"
            assert {i: r.updated_at for i, r in rows.items()} == before
            conn.execute(text("DELETE FROM residents WHERE id = :r"), {"r": rid})
    finally:
        engine.dispose()
