"""The nearest-shelter answer comes from per-area candidates cached per api process
(geo.shelters.cache, server.readcache): the same answer as the SQL search, and a shelter
opened, closed, fuller or moved is seen by the very next request."""

from __future__ import annotations

import random

from geo.shelters import cache as area_cache
from geo.shelters import repository, service
from server import readcache

from tests.kits.calls import count_calls
from tests.kits.shelters import shelter

Q = {"lat": 37.75, "lon": 140.47, "open": "true", "limit": 5}


async def _ids(client, **params):
    r = await client.get("/v1/shelters", params={**Q, **params})
    assert r.status_code == 200, r.text
    return [(s["id"], s["crowding"], s["is_open"]) for s in r.json()["shelters"]]


async def _set(app, sid, **status):
    async with app.state.sessionmaker() as s:
        await repository.set_status(s, sid, **status)
        await s.commit()


async def test_open_close_and_crowding_are_seen_on_the_next_request(app, client, add_shelters):
    await add_shelters(shelter("c:a", 37.751, 140.471, capacity=100), shelter("c:b", 37.76, 140.48, capacity=100),
                       status={"c:a": {"is_open": True, "occupancy": 10}})
    assert await _ids(client) == [("c:a", "empty", True)]
    hits = area_cache.AREAS.hits
    assert await _ids(client) == [("c:a", "empty", True)]
    assert area_cache.AREAS.hits == hits + 1  # the second answer came from the cache

    await _set(app, "c:b", is_open=True)
    assert [i for i, *_ in await _ids(client)] == ["c:a", "c:b"]
    await _set(app, "c:a", occupancy=95)
    assert (await _ids(client))[0] == ("c:a", "full", True)
    await _set(app, "c:a", is_open=False)
    assert [i for i, *_ in await _ids(client)] == ["c:b"]


async def test_check_ins_and_imports_invalidate(app, client, add_shelters):
    await add_shelters(shelter("c:a", 37.751, 140.471, capacity=10), status={"c:a": {"is_open": True}})
    assert (await _ids(client))[0][1] == "unknown"
    async with app.state.sessionmaker() as s:
        await repository.adjust_checked_in(s, "c:a", 9)
        await s.commit()
    assert (await _ids(client))[0][1] == "full"
    # A nearer shelter imported (already open): the next answer has it first.
    await add_shelters(shelter("c:z", 37.7501, 140.4701), status={"c:z": {"is_open": True}})
    assert (await _ids(client))[0][0] == "c:z"


async def test_a_rolled_back_write_and_a_writing_transaction_do_not_poison_the_cache(app, client, add_shelters):
    await add_shelters(shelter("c:a", 37.751, 140.471), status={"c:a": {"is_open": True}})
    assert [i for i, *_ in await _ids(client)] == ["c:a"]
    async with app.state.sessionmaker() as s:
        await repository.set_status(s, "c:a", is_open=False)
        # Its own uncommitted write is what this transaction reads, and it is not cached.
        assert await service.nearest(s, lat=Q["lat"], lon=Q["lon"], is_open=True, limit=5) == []
        await s.rollback()
    assert [i for i, *_ in await _ids(client)] == ["c:a"]


async def test_redis_down_reads_the_database(app, client, add_shelters, monkeypatch):
    await add_shelters(shelter("c:a", 37.751, 140.471), status={"c:a": {"is_open": True}})

    async def no_answer(namespace):
        return None

    monkeypatch.setattr(readcache, "generation", no_answer)
    assert [i for i, *_ in await _ids(client)] == ["c:a"]
    await _set(app, "c:a", is_open=False)
    assert await _ids(client) == []


async def test_area_answers_equal_the_sql_search(app, add_shelters):
    rnd = random.Random(7)
    records, status = [], {}
    for i in range(300):
        sid = f"r:{i:03d}"
        records.append(shelter(sid, rnd.uniform(37.0, 37.6), rnd.uniform(139.9, 140.9),
                               hazards=rnd.sample(["earthquake", "flood", "landslide"], rnd.randint(0, 2)),
                               capacity=rnd.choice([None, 0, 100, 100])))
        # Unknown capacity or occupancy: the "available" filter treats NULLs as the SQL does.
        status[sid] = {"is_open": rnd.random() < 0.5, **({"occupancy": rnd.randint(0, 100)} if rnd.random() < 0.8 else {})}
    # Two at one point: ties are broken by id, as in the SQL.
    records.append(shelter("r:tie-b", 37.3, 140.4))
    records.append(shelter("r:tie-a", 37.3, 140.4))
    await add_shelters(*records, status=status)
    async with app.state.sessionmaker() as s:
        for _ in range(150):
            lat, lon = rnd.uniform(36.9, 37.7), rnd.uniform(139.8, 141.0)
            kw = {"hazard": rnd.choice([None, "flood", "earthquake"]), "is_open": rnd.choice([None, True, False]),
                  "available": rnd.random() < 0.3, "limit": rnd.choice([1, 3, 10, 50])}
            cached = await service.nearest(s, lat=lat, lon=lon, **kw)
            sql = await service._nearest_sql(s, lat=lat, lon=lon, **kw)
            assert [(r["id"], r["distance_m"]) for r in cached] == [(r["id"], r["distance_m"]) for r in sql], kw
            # Every field the cached answer carries is the SQL answer's.
            assert [{k: sql_row.get(k) for k in row} for row, sql_row in zip(cached, sql, strict=True)] == cached
        cached = await service.nearest(s, lat=37.3, lon=140.4, limit=2)
        assert [r["id"] for r in cached] == ["r:tie-a", "r:tie-b"]
    assert area_cache.AREAS.hits > 0


async def test_the_fast_path_answers_as_the_route_does(app, client, routes_client, add_shelters, monkeypatch):
    """GET /v1/shelters is answered in front of the router from the same per-area
    candidates, byte for byte the route's answer; a spelling it does not read plainly
    reaches the route (whose validation decides)."""
    await add_shelters(shelter("c:a", 37.751, 140.471, capacity=100), shelter("c:b", 37.76, 140.48, capacity=100),
                       shelter("c:c", 37.70, 140.40), status={"c:a": {"is_open": True, "occupancy": 90}})
    calls = count_calls(monkeypatch, service, "nearest")
    plain = [{"lat": 37.75, "lon": 140.47}, {**Q}, {"lat": "37.75", "lon": "140.47", "hazard": "flood"},
             {"lat": 37.75, "lon": 140.47, "open": "false", "available": "true", "limit": 2},
             {"lat": -33.9, "lon": 151.2}, {"lat": 37.75, "lon": 140.47, "limit": 50}]
    for params in plain:
        fast = await client.get("/v1/shelters", params=params)
        assert calls == [], params
        slow = await routes_client.get("/v1/shelters", params=params)
        assert fast.status_code == slow.status_code == 200 and fast.content == slow.content, params
        calls.clear()
    unusual = [{"lat": "3.775e1", "lon": 140.47}, {"lat": 37.75, "lon": 140.47, "open": "yes"},
               {"lat": 37.75, "lon": 140.47, "limit": 0}, {"lat": 37.75, "lon": 140.47, "limit": 51},
               {"lat": 91, "lon": 140.47}, {"lat": 37.75}, {"lat": 37.75, "lon": 140.47, "hazard": "ufo"},
               {"lat": 37.75, "lon": 140.47, "radius": 3}, {"lat": 89.9, "lon": 140.47}, {"lat": "nan", "lon": 1}]
    for params in unusual:
        fast = await client.get("/v1/shelters", params=params)
        slow = await routes_client.get("/v1/shelters", params=params)
        assert fast.status_code == slow.status_code and fast.content == slow.content, params
    assert len(calls) >= 4  # those the route serves (1e1, yes, radius, near the pole) went through it
