"""Targeting by code (per category mapping) and by polygon, on real documents and real PostGIS."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import shapely
import shapely.geometry

from alerts.targeting.codes import code_targets
from alerts.targeting.service import Match, MatchChunk, bucket_width, split_residents
from my_evacuation.places.models import PLACE_KINDS
from tests.kits.targeting import city_geoms, point_in
from tests.kits.paths import reference_path
from tests.kits.targeting import by_place, flat

REPO = Path(__file__).resolve().parents[3]
CAP = REPO / "fixtures" / "cap"


# --- codes: which column each area code targets -------------------------------------------------


def test_code_mapping_depends_on_category_and_kind():
    quake = code_targets("jma", "earthquake", [{"code": "250", "kind": "seismic_area"}, {"code": "0720300", "kind": "seismic_city"}])
    assert quake.exact == {"quake_area_code": ["250"]}
    assert quake.ranges == {"jma_city_code": [("0720300", "0720399", "0720300")]}
    tsunami = code_targets("jma", "tsunami", [{"code": "250", "kind": "tsunami_area"}])
    assert tsunami.exact == {"tsunami_area_code": ["250"]} and not tsunami.ranges
    warn = code_targets("jma", "weather_warning", [{"code": "0720301"}, {"code": "070011"}])
    assert warn.exact["jma_city_code"] == ["0720301"]
    assert warn.exact["jma_matome_code"] == warn.exact["jma_first_code"] == warn.exact["jma_pref_code"] == ["070011"]
    cap = code_targets("cap", "evacuation", [{"code": "072044"}, {"code": "070009"}, {"code": "3537001"}, {"code": None}])
    assert cap.exact == {"municipality_code": ["072044"]}
    assert cap.ranges == {"municipality_code": [("070000", "079999", "070009")]}
    assert not code_targets("jma", "volcano", [{"code": "306", "kind": "volcano"}, {"code": "123456789012"}])


# --- by code, on real documents --------------------------------------------------------------


async def test_earthquake_report_matches_quake_areas_and_city_intensities(world):
    # 中通り (250) and 浜通り (251) with city intensities for 田村市 and 相馬市; 会津 (252) not reported.
    alert = await world.ingest_file(reference_path("jmaxml", "real", "20210216143410_0_VXSE53_010000.xml"))
    _, tamura = await world.home_in("0721100")
    _, fukushima = await world.home_in("0720100")
    _, soma = await world.home_in("0720900", kind="work")
    _, aizu = await world.home_in("0720200")
    _, konan = await world.home_in("0720302")  # 郡山市湖南: 中通り (250) for earthquakes, like all of 郡山市
    got = by_place(await world.matches(alert))
    assert set(got) == {tamura, fukushima, soma, konan}
    assert got[konan].area_code == "250"
    assert got[tamura].area_code == "0721100"  # the city, more specific than its area 250
    assert got[fukushima].area_code == "250"
    assert got[soma].area_code == "0720900" and got[soma].place_kind == "work"
    assert got[soma].device_id is None


async def test_municipality_wide_city_code_matches_every_split_area(world):
    # VXSE53 reports 郡山市 as 0720300; forecasts split it into 0720301 郡山市 and 0720302 郡山市湖南.
    alert = await world.ingest_file(reference_path("jmaxml", "real", "20240101072429_0_VXSE53_010000.xml"))
    _, koriyama = await world.home_in("0720301")
    _, konan = await world.home_in("0720302")
    got = by_place(await world.matches(alert))
    assert got[koriyama].area_code == "0720300"
    assert got[konan].area_code == "0720300"


async def test_tsunami_area_250_is_the_coast_not_nakadori(world):
    alert = await world.ingest_file(reference_path("jmaxml", "real", "20220116050009_0_VTSE41_010000.xml"))
    _, iwaki = await world.home_in("0720400")
    _, fukushima = await world.home_in("0720100")  # quake area 250, but no tsunami area
    got = by_place(await world.matches(alert))
    assert set(got) == {iwaki}
    assert got[iwaki].area_code == "250"


async def test_weather_warning_split_city_codes_match_exactly(world):
    alert = await world.ingest_file(reference_path("jmaxml", "real", "2b441518-4e79-342c-a271-7c25597f3a69.xml"))
    _, koriyama = await world.home_in("0720301")
    _, konan = await world.home_in("0720302")
    got = by_place(await world.matches(alert))
    assert got[koriyama].area_code == "0720301"
    assert got[konan].area_code == "0720302"


async def test_weather_warning_matome_code_matches_its_cities(world):
    alert = await world.ingest_dict(
        _jma("weather_warning", [{"code": "070011", "name": "中通り北部", "kind": "jma_matome"}])
    )
    _, fukushima = await world.home_in("0720100")  # 中通り北部
    _, date = await world.home_in("0721300")  # 伊達市, 中通り北部
    _, koriyama = await world.home_in("0720301")  # 中通り中部
    got = by_place(await world.matches(alert))
    assert set(got) == {fukushima, date}
    assert {m.area_code for m in got.values()} == {"070011"}


async def test_cap_municipality_code(world):
    alert = await world.ingest_file(CAP / "evacuation_exercise.xml")  # 072036 郡山市, no polygon
    _, koriyama = await world.home_in("0720301")
    _, konan = await world.home_in("0720302")
    _, iwaki = await world.home_in("0720400")
    got = by_place(await world.matches(alert))
    assert set(got) == {koriyama, konan}
    assert {m.area_code for m in got.values()} == {"072036"}


async def test_cap_prefecture_code_matches_the_whole_prefecture(world):
    alert = await world.ingest_file(CAP / "jalert_missile.xml")  # 070009 福島県全域
    places = [(await world.home_in(c))[1] for c in ("0720100", "0720400", "0736400", "0756400")]
    got = by_place(await world.matches(alert))
    assert set(got) == set(places)
    assert {m.area_code for m in got.values()} == {"070009"}


# --- current locations ------------------------------------------------------------------------


async def test_current_location_carries_device_and_expired_ones_never_match(world):
    alert = await world.ingest_file(CAP / "evacuation_exercise.xml")  # 郡山市
    resident, device, current = await world.current_in("0720301")
    home = await world.place(resident, "home", *point_in("0720302"))
    _, _, expired = await world.current_in("0720301", expired=True)
    _, _, elsewhere = await world.current_in("0720100")
    got = by_place(await world.matches(alert))
    assert set(got) == {current, home}
    assert got[current] == (resident, current, "current", device, "072036")
    assert got[home].device_id is None and got[home].place_kind == "home"


async def test_a_polygon_names_every_kind_of_place_and_skips_expired_locations(world):
    # Polygon matches come as column arrays (kinds by the code of their first letter).
    import sqlalchemy.exc

    alert = await world.ingest_dict(
        {**_cap_base("kinds-in-polygon"), "category": "evacuation", "areas": [],
         "geometry": {"type": "Polygon", "coordinates": [_ring(37.75, 140.47, 0.05, 64)]}}
    )
    r = await world.resident()
    places = {kind: await world.place(r, kind, 37.75 + 0.001 * i, 140.47) for i, kind in enumerate(PLACE_KINDS)}
    d = await world.device(r)
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    places["current"] = await world.place(r, "current", 37.76, 140.48, device_id=d, expires_at=later)
    gone = await world.resident()
    await world.place(gone, "current", 37.76, 140.47, device_id=await world.device(gone),
                      expires_at=datetime.now(timezone.utc) - timedelta(minutes=1))
    got = by_place(await world.matches(alert))
    assert {p: m.place_kind for p, m in got.items()} == {p: k for k, p in places.items()}
    assert got[places["current"]].device_id == d and all(got[places[k]].device_id is None for k in PLACE_KINDS)
    # Only a current location can expire (what lets targeting test expires_at alone).
    with pytest.raises(sqlalchemy.exc.IntegrityError, match="only_current_expires"):
        async with world.session.begin_nested():
            await world.place(r, "home", 37.75, 140.47, expires_at=later)


# --- by polygon -------------------------------------------------------------------------------


async def test_cap_polygon_decides_and_includes_its_boundary(world):
    # Level 4 for 渡利地区: polygon lon 140.476..140.498, lat 37.728..37.746, geocode 072010 福島市.
    alert = await world.ingest_file(CAP / "evacuation_level4_fukushima.xml")
    r = await world.resident()
    inside = await world.place(r, "home", 37.737, 140.487)
    on_edge = await world.place(await world.resident(), "home", 37.735, 140.476)
    on_corner = await world.place(await world.resident(), "work", 37.746, 140.498)
    outside = await world.place(await world.resident(), "home", 37.760, 140.470)  # 福島市, not 渡利
    got = by_place(await world.matches(alert))
    assert set(got) == {inside, on_edge, on_corner} and outside not in got
    assert all(m.area_code is None for m in got.values())


def _ring(lat0: float, lon0: float, radius_deg: float, n: int) -> list[list[float]]:
    pts = []
    for i in range(n):
        a = 2 * math.pi * i / n
        wobble = 1 + 0.15 * math.sin(37 * a)  # a ragged outline, so subdivision has work to do
        pts.append([round(lon0 + radius_deg * wobble * math.cos(a), 7), round(lat0 + radius_deg * wobble * math.sin(a), 7)])
    return pts + [pts[0]]


async def test_many_vertex_polygon_is_subdivided_without_losing_or_duplicating(world):
    ring = _ring(37.75, 140.47, 0.05, 2000)
    alert = await world.ingest_dict(
        {**_cap_base("staff-drawn"), "category": "evacuation", "areas": [],
         "geometry": {"type": "Polygon", "coordinates": [ring]}}
    )
    vertex = ring[500]
    expected = set()
    for lat, lon in [(37.75, 140.47), (37.75 + 0.03, 140.47), (vertex[1], vertex[0])]:
        expected.add(await world.place(await world.resident(), "home", lat, lon))
    outside = [await world.place(await world.resident(), "home", 37.75 + 0.07, 140.47),
               await world.place(await world.resident(), "home", 37.75, 140.47 + 0.1)]
    got = by_place(await world.matches(alert))
    assert set(got) == expected
    assert not set(outside) & set(got)


async def test_codes_and_polygon_union_without_duplicates(world):
    # A JMA-style alert carrying both area codes (伊達市) and a polygon around central 福島市.
    ring = _ring(37.76, 140.47, 0.02, 300)
    alert = await world.ingest_dict(
        _jma("weather_warning", [{"code": "0721300", "name": "伊達市", "kind": "jma_city"}],
             geometry={"type": "Polygon", "coordinates": [ring]})
    )
    _, date = await world.home_in("0721300")
    in_poly = await world.place(await world.resident(), "home", 37.76, 140.47)
    _, elsewhere = await world.home_in("0720400")
    # A place both in the coded area and the polygon: put the polygon over 伊達市's point.
    lat, lon = point_in("0721300")
    ring2 = _ring(lat, lon, 0.02, 300)
    alert2 = await world.ingest_dict(
        {**_jma("weather_warning", [{"code": "0721300", "name": "伊達市", "kind": "jma_city"}],
                geometry={"type": "Polygon", "coordinates": [ring2]}), "source_id": "union-2"}
    )
    got = by_place(await world.matches(alert))
    assert set(got) == {date, in_poly}
    assert got[date].area_code == "0721300" and got[in_poly].area_code is None
    got2 = by_place(await world.matches(alert2))  # by_place fails on a duplicate
    assert got2[date].area_code == "0721300"


async def test_shelter_notice_keeps_its_municipality(world):
    alert = await world.ingest_file(CAP / "shelter_open.xml")  # 072010 福島市 + circles at the shelters
    near = await world.place(await world.resident(), "home", 37.738, 140.487)
    _, far = await world.home_in("0720100")
    _, iwaki = await world.home_in("0720400")
    got = by_place(await world.matches(alert))
    assert set(got) == {near, far}
    assert got[near].area_code == "072010"


# --- streaming --------------------------------------------------------------------------------


async def test_chunks_come_in_resident_ranges_and_never_split_a_resident(world):
    jalert = await world.ingest_file(CAP / "jalert_missile.xml")  # codes: a row per place, in resident order
    cities = ["0720100", "0720400", "0720200", "0721300"]
    box = shapely.union_all([city_geoms()[c] for c in cities]).envelope
    drawn = await world.ingest_dict(  # a polygon: arrays per bucket of residents
        {**_cap_base("chunks-drawn"), "category": "evacuation", "areas": [], "geometry": shapely.geometry.mapping(box)}
    )
    expected = []
    for i in range(40):
        r = await world.resident()
        for k in range(1 + i % 3):  # 1, 2 or 3 places per resident
            expected.append((r, await world.place(r, "home" if k == 0 else "other", *point_in(cities[(i + k) % 4]))))
    for alert in (jalert, drawn):
        whole = await world.matches(alert)
        assert len(whole) == 1 and sorted((m.resident_id, m.place_id) for m in whole[0]) == sorted(expected)
        for size in (1, 2, 4, 7, 20, 40):
            chunks = await world.matches(alert, chunk_size=size)
            assert sorted((m.resident_id, m.place_id) for m in flat(chunks)) == sorted(expected)
            previous = 0
            for chunk in chunks:
                assert chunk, "no empty chunks"
                ids = {m.resident_id for m in chunk}
                assert min(ids) > previous, f"chunks out of resident order, or a resident split (chunk_size={size})"
                previous = max(ids)
                # Rows: the last resident (3 places at most) may run over; buckets (width
                # residents) are joined up to the size, a single one may exceed it.
                assert len(chunk) <= max(size + 2, 3 * bucket_width(size))
            if size >= 7:
                assert len(chunks) < len(expected) // 2, "chunks are filled up to the size"


async def test_a_resident_inside_and_at_the_edge_of_a_polygon_stays_in_one_chunk(world):
    # Interior-cell and boundary-cell matches are grouped apart, so one bucket can come in two
    # rows; they must still land in the same chunk.
    from geo.grid import cell_of, cover

    box = shapely.box(140.40, 37.70, 140.60, 37.80)
    interior, boundary = map(set, cover(box))
    drawn = await world.ingest_dict(
        {**_cap_base("inside-and-edge"), "category": "evacuation", "areas": [], "geometry": shapely.geometry.mapping(box)}
    )
    expected = {}
    for i in range(6):
        r = await world.resident()
        inner, edge = (37.75, 140.50 + 0.001 * i), (37.7005, 140.45 + 0.01 * i)
        assert cell_of(*inner) in interior and cell_of(*edge) in boundary
        expected[r] = {await world.place(r, "home", *inner), await world.place(r, "work", *edge)}
    for size in (1, 2, 3, 5):
        chunks = await world.matches(drawn, chunk_size=size)
        seen: dict[int, set] = {}
        for n, chunk in enumerate(chunks):
            for m in chunk:
                seen.setdefault(m.resident_id, set()).add(n)
        assert all(len(where) == 1 for where in seen.values()), f"a resident split between chunks (chunk_size={size})"
        got = {}
        for m in flat(chunks):
            got.setdefault(m.resident_id, set()).add(m.place_id)
        assert got == expected


def test_match_chunk_columns_and_split_by_resident():
    chunk = MatchChunk([1, 2, 1, 3], [10, 20, 11, 30], ["home", "home", "current", "work"], [None, None, 7, None],
                       ["A", None, None, "B"])
    assert len(chunk) == 4 and chunk[2] == Match(1, 11, "current", 7, None) and chunk[2].device_id == 7
    assert list(chunk[1:3]) == [(2, 20, "home", None, None), (1, 11, "current", 7, None)]
    head, tail = split_residents(chunk, 1)
    assert [m.place_id for m in head] == [10, 11] and [m.place_id for m in tail] == [20, 30]
    other = MatchChunk([4], [40], ["home"], [None], [None])
    other.add(chunk.resident_ids, chunk.place_ids, chunk.kinds, chunk.device_ids, chunk.area_codes)
    assert sorted(other) == sorted([*chunk, Match(4, 40, "home", None, None)])
    other.add([5], [50], ["work"], [None], None)  # no area codes shipped: a polygon alone
    assert other[-1] == Match(5, 50, "work", None, None)


async def test_missing_alert_and_untargetable_alert_yield_nothing(world):
    await world.home_in("0720100")
    assert await world.matches(987654321) == []
    volcano = await world.ingest_dict(_jma("volcano", [{"code": "306", "name": "浅間山", "kind": "volcano"}]))
    assert await world.matches(volcano) == []


def _jma(category: str, areas: list, geometry=None) -> dict:
    return {
        "source": "jma", "source_id": f"test|{category}|{len(areas)}", "event_id": f"test-{category}",
        "msg_type": "alert", "issued_at": "2025-08-10T14:00:00+09:00", "category": category,
        "severity": "Severe", "headline": "test", "areas": areas, "geometry": geometry,
    }


def _cap_base(ident: str) -> dict:
    return {
        "source": "cap", "source_id": f"staff,{ident},2025-08-10T14:00:00+09:00", "event_id": ident,
        "msg_type": "alert", "issued_at": "2025-08-10T14:00:00+09:00", "severity": "Severe", "headline": ident,
    }

