"""Places: every write resolves and stores the municipality and JMA codes."""

from __future__ import annotations



FUKUSHIMA_CITY = (37.7608, 140.4747)  # 福島市役所
IWAKI_COAST = (36.9470, 140.9040)  # いわき市 小名浜
KORIYAMA_KONAN = (37.4420, 140.1280)  # 郡山市湖南町 (split JMA area)
OFFSHORE_IWAKI = (36.9000, 140.8700)  # just off the いわき coast, < 1 km  (checked below)


async def add(client, headers, lat, lon, kind="home", label=None):
    return await client.post("/v1/me/places", json={"kind": kind, "label": label, "lat": lat, "lon": lon}, headers=headers)


async def test_place_resolves_every_code(client, resident):
    headers, _ = resident
    r = await add(client, headers, *FUKUSHIMA_CITY)
    assert r.status_code == 201, r.text
    area = r.json()["area"]
    assert area["municipality"] == {"code": "072010", "name": "福島市"}
    assert area["jma_city"]["code"] == "0720100"
    assert area["jma_matome"]["code"] == "070011"
    assert area["jma_first"]["code"] == "070010"
    assert area["jma_pref"]["code"] == "070000"
    assert area["quake_area"]["code"] == "250"
    assert area["tsunami_area"] is None


async def test_coastal_place_gets_tsunami_area(client, resident):
    headers, _ = resident
    area = (await add(client, headers, *IWAKI_COAST)).json()["area"]
    assert area["municipality"]["code"] == "072044"
    assert area["quake_area"]["code"] == "251"
    assert area["tsunami_area"]["code"] == "250"


async def test_split_jma_area_keeps_municipality(client, resident):
    headers, _ = resident
    area = (await add(client, headers, *KORIYAMA_KONAN)).json()["area"]
    assert area["municipality"]["code"] == "072036"
    assert area["jma_city"]["code"] == "0720302"


async def test_codes_are_stored_for_targeting(client, resident, engine):
    from sqlalchemy import text

    headers, _ = resident
    await add(client, headers, *FUKUSHIMA_CITY)
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT municipality_code, jma_city_code, quake_area_code FROM places"))).one()
    assert tuple(row) == ("072010", "0720100", "250")


async def test_point_just_offshore_snaps_to_nearest_area(client, resident):
    headers, _ = resident

    async def locate(lon):
        return (await client.get("/v1/areas/locate", params={"lat": 37.0, "lon": lon})).json()

    # Walk east from inland いわき into the Pacific: first snapped (≤ 1 km), then nothing.
    lon = 140.95
    while not ((await locate(lon))["snapped_m"] or 0) > 300:
        lon += 0.001
        assert lon < 141.3, "never reached the coast"
    assert (await locate(lon))["snapped_m"] <= 1000
    area = (await add(client, headers, 37.0, lon)).json()["area"]
    assert area["municipality"]["code"] == "072044"
    assert area["tsunami_area"]["code"] == "250"
    far = (await add(client, headers, 37.0, lon + 0.05, kind="other")).json()["area"]
    assert far["municipality"] is None


async def test_place_outside_prefecture_is_stored_without_codes(client, resident):
    headers, _ = resident
    r = await add(client, headers, 35.6812, 139.7671, kind="family", label="実家 (東京)")
    assert r.status_code == 201
    assert r.json()["area"]["municipality"] is None
    places = (await client.get("/v1/me/places", headers=headers)).json()
    assert len(places) == 1 and places[0]["label"] == "実家 (東京)"


async def test_eleventh_place_is_refused(client, resident):
    headers, _ = resident
    for i in range(10):
        assert (await add(client, headers, 37.75 + i * 0.001, 140.47, kind="other")).status_code == 201
    r = await add(client, headers, 37.76, 140.47, kind="other")
    assert r.status_code == 409
    assert r.json()["code"] == "limit_exceeded"


async def test_patch_moves_place_and_recodes(client, resident):
    headers, _ = resident
    pid = (await add(client, headers, *FUKUSHIMA_CITY)).json()["id"]
    r = await client.patch(f"/v1/me/places/{pid}", json={"lat": IWAKI_COAST[0], "lon": IWAKI_COAST[1]}, headers=headers)
    assert r.status_code == 200
    assert r.json()["area"]["municipality"]["code"] == "072044"
    assert (await client.patch(f"/v1/me/places/{pid}", json={"lat": 37.0}, headers=headers)).status_code == 400


async def test_places_are_private_to_their_resident(client, resident):
    headers, _ = resident
    pid = (await add(client, headers, *FUKUSHIMA_CITY)).json()["id"]
    other = (await client.post("/v1/devices", json={"platform": "web"})).json()["token"]
    oh = {"Authorization": f"Bearer {other}"}
    assert (await client.get(f"/v1/me/places/{pid}", headers=oh)).status_code == 404
    assert (await client.delete(f"/v1/me/places/{pid}", headers=oh)).status_code == 404


async def test_current_location_upsert_and_expiry(client, resident, engine):
    from sqlalchemy import text

    headers, _ = resident
    r = await client.put("/v1/me/location", json={"lat": FUKUSHIMA_CITY[0], "lon": FUKUSHIMA_CITY[1], "accuracy_m": 30}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["area"]["municipality"]["code"] == "072010"
    r = await client.put("/v1/me/location", json={"lat": IWAKI_COAST[0], "lon": IWAKI_COAST[1]}, headers=headers)
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT municipality_code, expires_at > now() FROM places WHERE kind='current'"))).all()
    assert [tuple(r) for r in rows] == [("072044", True)]
    got = await client.get("/v1/me/location", headers=headers)
    assert got.json()["area"]["municipality"]["code"] == "072044"
    assert (await client.delete("/v1/me/location", headers=headers)).status_code == 204
    assert (await client.get("/v1/me/location", headers=headers)).status_code == 404


async def test_bad_coordinates_are_4xx_never_500(client, resident):
    headers, _ = resident
    bad_bodies = [
        b'{"kind":"home","lat":91,"lon":140}',
        b'{"kind":"home","lat":37,"lon":-181}',
        b'{"kind":"home","lat":NaN,"lon":140}',
        b'{"kind":"home","lat":Infinity,"lon":140}',
        b'{"kind":"home","lat":"north","lon":140}',
        b'{"kind":"castle","lat":37,"lon":140}',
        b'{"kind":"home","lat":37}',
        b'[]',
    ]
    for body in bad_bodies:
        r = await client.post("/v1/me/places", content=body, headers={**headers, "content-type": "application/json"})
        assert 400 <= r.status_code < 500, (body, r.status_code)
        r = await client.put("/v1/me/location", content=body, headers={**headers, "content-type": "application/json"})
        assert 400 <= r.status_code < 500, (body, r.status_code)
    assert (await client.put("/v1/me/location", json={"lat": 37, "lon": 140})).status_code == 401
    assert (await client.put("/v1/me/location", json={"lat": 37, "lon": 140}, headers={"Authorization": "Bearer x"})).status_code == 401
    assert (await client.get("/v1/areas/locate", params={"lat": "nan", "lon": 140})).status_code == 422
    assert (await client.get("/v1/me/places/notanumber", headers=headers)).status_code == 422



async def test_retention_job_deletes_only_expired_locations(client, resident, engine, settings, redis_client):
    from sqlalchemy import text

    from my_evacuation.places.tasks import purge_expired_locations
    from server.db import make_sessionmaker
    from server.scheduler import JobContext

    headers, _ = resident
    await client.put("/v1/me/location", json={"lat": FUKUSHIMA_CITY[0], "lon": FUKUSHIMA_CITY[1]}, headers=headers)
    other = (await client.post("/v1/devices", json={"platform": "web"})).json()["token"]
    await client.put("/v1/me/location", json={"lat": IWAKI_COAST[0], "lon": IWAKI_COAST[1]}, headers={"Authorization": f"Bearer {other}"})
    await add(client, headers, *FUKUSHIMA_CITY)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE places SET expires_at = now() - interval '1 minute' WHERE municipality_code = '072010' AND kind = 'current'"))
    ctx = JobContext(settings=settings, engine=engine, sessionmaker=make_sessionmaker(engine), redis=redis_client, instance="t")
    await purge_expired_locations(ctx)
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT kind, municipality_code FROM places ORDER BY kind, municipality_code"))).all()
    assert [tuple(r) for r in rows] == [("current", "072044"), ("home", "072010")]
