"""GET /v1/shelters (nearest suitable) and /v1/shelters/{id}, against real PostGIS."""

from __future__ import annotations

import pytest

from tests.kits.shelters import shelter

ORIGIN = (37.0, 140.0)


async def test_nearest_orders_by_true_distance_not_planar_degrees(client, add_shelters):
    # On the WGS84 ellipsoid: north 0.0090° = 998.8 m, east 0.0100° = 890.1 m (pyproj Geod).
    # In planar degrees north looks nearer.
    await add_shelters(
        shelter("north", 37.0090, 140.0),
        shelter("east", 37.0, 140.0100),
        shelter("far", 37.05, 140.05),
    )
    r = await client.get("/v1/shelters", params={"lat": 37.0, "lon": 140.0})
    assert r.status_code == 200, r.text
    got = r.json()["shelters"]
    assert [s["id"] for s in got] == ["east", "north", "far"]
    assert got[0]["distance_m"] == pytest.approx(890.1, abs=0.5)
    assert got[1]["distance_m"] == pytest.approx(998.8, abs=0.5)
    assert got[0]["suitable_for"] is None


async def test_nearest_returns_the_k_nearest_among_many(client, add_shelters):
    recs = [shelter(f"s{i:02d}", 37.0 + 0.001 * i, 140.0 + 0.0005 * (i % 3)) for i in range(1, 40)]
    await add_shelters(*recs)
    r = await client.get("/v1/shelters", params={"lat": 37.0, "lon": 140.0, "limit": 5})
    ids = [s["id"] for s in r.json()["shelters"]]
    assert ids == ["s01", "s02", "s03", "s04", "s05"]
    d = [s["distance_m"] for s in r.json()["shelters"]]
    assert d == sorted(d)


async def test_hazard_filter_keeps_only_sites_designated_for_it(client, add_shelters):
    await add_shelters(
        shelter("quake-near", 37.001, 140.0, hazards=("earthquake",)),
        shelter("flood-mid", 37.002, 140.0, hazards=("flood", "landslide")),
        shelter("centre-only", 37.0005, 140.0, hazards=(), is_evacuation_center=True),
        shelter("tsunami-far", 37.02, 140.0, hazards=("tsunami", "flood")),
    )
    r = await client.get("/v1/shelters", params={"lat": 37.0, "lon": 140.0, "hazard": "flood"})
    assert r.status_code == 200
    body = r.json()
    assert body["hazard"] == "flood"
    assert [s["id"] for s in body["shelters"]] == ["flood-mid", "tsunami-far"]
    assert all(s["suitable_for"] is True for s in body["shelters"])
    assert body["shelters"][0]["hazards"] == ["flood", "landslide"]
    r = await client.get("/v1/shelters", params={"lat": 37.0, "lon": 140.0, "hazard": "volcano"})
    assert r.json()["shelters"] == []


async def test_open_and_available_filters_and_crowding(client, add_shelters):
    await add_shelters(
        shelter("closed", 37.001, 140.0),
        shelter("open-empty", 37.002, 140.0, capacity=100),
        shelter("open-full", 37.0015, 140.0, capacity=100),
        shelter("open-unknown", 37.003, 140.0),
        status={
            "open-empty": {"is_open": True, "occupancy": 10},
            "open-full": {"is_open": True, "occupancy": 80},
            "open-unknown": {"is_open": True},
        },
    )
    r = await client.get("/v1/shelters", params={"lat": 37.0, "lon": 140.0, "open": "true"})
    got = {s["id"]: s for s in r.json()["shelters"]}
    assert list(got) == ["open-full", "open-empty", "open-unknown"]
    assert got["open-full"]["crowding"] == "full" and got["open-empty"]["crowding"] == "empty"
    assert got["open-unknown"]["crowding"] == "unknown" and got["open-empty"]["occupancy"] == 10
    assert got["open-empty"]["is_open"] is True and got["open-empty"]["opened_at"] is not None
    r = await client.get("/v1/shelters", params={"lat": 37.0, "lon": 140.0, "open": "true", "available": "true"})
    assert [s["id"] for s in r.json()["shelters"]] == ["open-empty", "open-unknown"]
    r = await client.get("/v1/shelters", params={"lat": 37.0, "lon": 140.0, "open": "false"})
    assert [s["id"] for s in r.json()["shelters"]] == ["closed"]


async def test_get_one_shelter_by_id_with_a_colon(client, add_shelters):
    await add_shelters(shelter("gsi:E0720100004111", 37.72, 140.45, name="福島明成高等学校", capacity_text="屋内480人", capacity=480))
    r = await client.get("/v1/shelters/gsi:E0720100004111")
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "福島明成高等学校" and body["capacity"] == 480 and body["crowding"] == "unknown"
    assert (body["lat"], body["lon"]) == (37.72, 140.45)
    r = await client.get("/v1/shelters/gsi:nope")
    assert r.status_code == 404 and r.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "params",
    [
        {"lat": "nan", "lon": "140"},
        {"lat": "37", "lon": "NaN"},
        {"lat": "inf", "lon": "140"},
        {"lat": "37", "lon": "-Infinity"},
        {"lat": "91", "lon": "140"},
        {"lat": "37", "lon": "180.5"},
        {"lat": "abc", "lon": "140"},
        {"lat": "37"},
        {"lon": "140"},
        {"lat": "37", "lon": "140", "hazard": "zombies"},
        {"lat": "37", "lon": "140", "hazard": ""},
        {"lat": "37", "lon": "140", "limit": "0"},
        {"lat": "37", "lon": "140", "limit": "51"},
        {"lat": "37", "lon": "140", "limit": "ten"},
        {"lat": "37", "lon": "140", "open": "maybe"},
        {"lat": "37", "lon": "140", "available": "2"},
    ],
)
async def test_bad_parameters_are_rejected_with_4xx(client, params):
    r = await client.get("/v1/shelters", params=params)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "validation_error" and body["detail"]


async def test_unknown_hazard_message_lists_the_known_ones(client):
    r = await client.get("/v1/shelters", params={"lat": 37, "lon": 140, "hazard": "zombies"})
    assert "flood" in r.text and "inland_flood" in r.text


async def test_limit_defaults_to_ten(client, add_shelters):
    await add_shelters(*[shelter(f"s{i:02d}", 37.0 + 0.001 * i, 140.0) for i in range(1, 15)])
    r = await client.get("/v1/shelters", params={"lat": 37.0, "lon": 140.0})
    assert len(r.json()["shelters"]) == 10


async def test_nearest_is_exact_when_the_knn_pool_misses_the_true_nearest(client, add_shelters):
    # 30 shelters due north fill the KNN pool (planar 0.0100–0.0103°, ~1,110 m); one due east
    # at 0.0120° is planar-farther but truly nearer (~1,068 m). The bound check must catch it.
    north = [shelter(f"north-{i:02d}", 37.0100 + 0.00001 * i, 140.0) for i in range(30)]
    await add_shelters(*north, shelter("east", 37.0, 140.0120))
    r = await client.get("/v1/shelters", params={"lat": 37.0, "lon": 140.0, "limit": 1})
    got = r.json()["shelters"]
    assert [s["id"] for s in got] == ["east"]
    assert got[0]["distance_m"] == pytest.approx(1068.1, abs=1)
