"""GSI emergency sites + evacuation centres → one record per facility; the shipped fixture."""

from __future__ import annotations

import gzip
import json

from geo.shelters.gsi import GsiEntry, merge_entries, parse_feature, read_gsi_dir
from geo.shelters.loader import SHELTERS_FIXTURE, read_fixture, write_fixture
from tests.kits.paths import reference_path

# ~0.0009° of latitude is 100 m.
DEG_100M = 0.0009


def em(name, lat, lon, cid=None, hazards=("earthquake",), address="福島市X1", code="072010"):
    return GsiEntry("emergency", cid, code, name, address, lat, lon, list(hazards))


def ev(name, lat, lon, cid=None, address="福島市X1", code="072010"):
    return GsiEntry("evacuation", cid, code, name, address, lat, lon)


def test_parse_feature_reads_flags_and_municipality():
    f = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [140.394779, 37.730091]},
        "properties": {"共通ID": "E0720100001201", "施設・場所名": "上名倉第２公園", "住所": "福島市さくら1-1-2",
                       "洪水": "", "崖崩れ、土石流及び地滑り": "1", "地震": "1", "火山現象": "1", "備考": ""},
    }  # fmt: skip
    e = parse_feature(f)
    assert e.kind == "emergency" and e.municipality_code == "072010"  # from 共通ID + check digit
    assert e.hazards == ["landslide", "earthquake", "volcano"]
    assert (e.lat, e.lon) == (37.730091, 140.394779)
    assert parse_feature({**f, "geometry": None}) is None
    assert parse_feature({**f, "properties": {**f["properties"], "施設・場所名": " "}}) is None


def test_same_facility_building_and_schoolyard_merge_into_one_row():
    records, stats = merge_entries(
        [em("月輪小学校　屋外運動場", 37.0 + DEG_100M, 140.0, cid="E0720100010201", hazards=("flood", "earthquake"))],
        [ev("月輪小学校", 37.0, 140.0, cid="E0720100010111")],
    )
    assert stats.merged == 1 and len(records) == 1
    r = records[0]
    assert r.id == "gsi:E0720100010111" and r.name == "月輪小学校" and (r.lat, r.lon) == (37.0, 140.0)
    assert r.is_emergency_site and r.is_evacuation_center and r.hazards == ["flood", "earthquake"]
    assert "指定緊急避難場所: 月輪小学校　屋外運動場" in r.notes


def test_same_facility_number_but_far_apart_is_kept_as_two_rows():
    far = 0.016  # ~1.8 km, like 郡山市 三和小学校 in the real data
    records, stats = merge_entries(
        [em("三和小学校", 37.0 + far, 140.0, cid="E0720300100201")], [ev("三和小学校", 37.0, 140.0, cid="E0720300100111")]
    )
    assert stats.merged == 0 and len(records) == 2 and stats.facility_not_merged == 1


def test_without_facility_link_only_same_name_within_50m_merges():
    near = 0.0003  # ~33 m
    records, _ = merge_entries([em("市民会館", 37.0 + near, 140.0)], [ev("市民会館", 37.0, 140.0)])
    assert len(records) == 1 and records[0].is_emergency_site and records[0].is_evacuation_center
    records, _ = merge_entries([em("市民会館", 37.0 + DEG_100M, 140.0)], [ev("市民会館", 37.0, 140.0)])
    assert len(records) == 2
    records, _ = merge_entries([em("市民会館", 37.0 + near, 140.0)], [ev("市民体育館", 37.0, 140.0)])
    assert len(records) == 2
    records, _ = merge_entries([em("市民会館", 37.0, 140.0, code="072036")], [ev("市民会館", 37.0, 140.0)])
    assert len(records) == 2


def test_two_schools_sharing_a_facility_number_each_find_their_own_site():
    # Real case: 明健小学校 (…358202) and 明健中学校 (…358201) share facility 00358.
    records, stats = merge_entries(
        [
            em("明健中学校", 37.0, 140.001, cid="E0720300358201", address="郡山市A"),
            em("明健小学校", 37.0, 140.0, cid="E0720300358202", address="郡山市B"),
        ],
        [ev("明健小学校", 37.0001, 140.0, cid="E0720300358111", address="郡山市B")],
    )
    merged = [r for r in records if r.is_evacuation_center]
    assert stats.merged == 1 and merged[0].name == "明健小学校" and "指定緊急避難場所" not in (merged[0].notes or "")
    assert len(records) == 2


def test_reference_data_merges_most_linked_pairs():
    records, stats = read_gsi_dir(reference_path("shelters", "gsi_fukushima"))
    assert stats.emergency == 1847 and stats.evacuation == 1799
    both = [r for r in records if r.is_emergency_site and r.is_evacuation_center]
    # GSI links 1,048 centres to an emergency site at the same address; all but a few merge.
    assert 1000 <= stats.merged == len(both) <= 1048
    assert len(records) == stats.shelters
    assert len({r.id for r in records}) == len(records)
    assert {r.municipality_code[:2] for r in records} == {"07"}


def test_shipped_fixture_is_what_the_build_script_makes(tmp_path):
    records, _ = read_gsi_dir(reference_path("shelters", "gsi_fukushima"))
    out = tmp_path / "rebuilt.jsonl.gz"
    write_fixture(records, out)
    assert out.read_bytes() == SHELTERS_FIXTURE.read_bytes(), "run fixtures/build_shelters.py"


def test_fixture_round_trips_records():
    records = read_fixture()
    assert len(records) > 2000
    with gzip.open(SHELTERS_FIXTURE, "rt", encoding="utf-8") as f:
        first = json.loads(f.readline())
    r = next(r for r in records if r.id == first["id"])
    assert (r.name, r.lat, r.lon, r.hazards) == (first["name"], first["lat"], first["lon"], first["hazards"])
    assert all(r.source == "gsi" and r.municipality_code and r.name for r in records)
