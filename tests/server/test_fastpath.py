"""server.fastpath: a GET answered in front of the router only when its handler answers;
everything else (other methods, other paths, a handler's None) reaches the app unchanged."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from server import fastpath
from server.errors import NotFound


def _app(seen: list) -> FastAPI:
    app = FastAPI()

    @app.get("/things/{thing_id}")
    async def route(thing_id: str):
        return {"by": "route", "id": thing_id}

    @app.post("/things/{thing_id}")
    async def post(thing_id: str):
        return {"by": "post"}

    @app.get("/exact")
    async def exact():
        return {"by": "route"}

    async def thing(req: fastpath.FastGet) -> bytes | None:
        q = req.query(frozenset({"a", "b"}))
        seen.append((req.params, q, req.bearer()))
        if q is None or req.params["thing_id"] == "decline":
            return None
        if req.params["thing_id"] == "raise":
            raise NotFound("no such thing")
        return b'{"by":"fast"}'

    async def exact_fast(req: fastpath.FastGet) -> bytes | None:
        return b'{"by":"exact"}'

    fastpath.add(app, "/things/{thing_id}", thing)
    fastpath.add(app, "/exact", exact_fast)
    fastpath.install(app)
    return app


async def _get(app, method, path, **kw):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        return await c.request(method, path, **kw)


async def test_answers_only_what_its_handler_answers():
    seen: list = []
    app = _app(seen)
    r = await _get(app, "GET", "/things/7?a=1&b=", headers={"Authorization": "Bearer tok"})
    assert r.json() == {"by": "fast"} and r.headers["content-type"] == "application/json"
    assert seen[-1] == ({"thing_id": "7"}, {"a": "1", "b": ""}, "tok")
    assert (await _get(app, "GET", "/exact")).json() == {"by": "exact"}
    assert (await _get(app, "GET", "/things/decline")).json() == {"by": "route", "id": "decline"}
    assert (await _get(app, "GET", "/things/raise")).json() == {"by": "route", "id": "raise"}
    assert (await _get(app, "POST", "/things/7")).json() == {"by": "post"}
    assert (await _get(app, "GET", "/things/7/more")).status_code == 404  # the template is the whole path
    n = len(seen)
    assert (await _get(app, "GET", "/exact/")).status_code in (307, 404)
    assert len(seen) == n


async def test_a_query_it_does_not_know_or_repeats_goes_to_the_route():
    seen: list = []
    app = _app(seen)
    for query in ("c=1", "a=1&a=2", "a=%FF", "a=1&b=2&c=3", "a=1&&b=2"):
        assert (await _get(app, "GET", f"/things/9?{query}")).json()["by"] == "route", query
        assert seen[-1][1] is None, query
    r = await _get(app, "GET", "/things/9", headers={"Authorization": "Basic abc"})
    assert r.json() == {"by": "fast"} and seen[-1][2] is None  # a malformed header reads as no token


def test_no_layer_without_fast_paths():
    app = FastAPI()
    fastpath.install(app)
    assert not any(m.cls is fastpath.FastPathMiddleware for m in app.user_middleware)


def test_row_ids_are_plain_positive_bigints():
    def rid(v):
        return fastpath.FastGet({}, {"id": v}, None).row_id("id")

    assert [rid(v) for v in ("1", "0012", str(2**63 - 1))] == [1, 12, 2**63 - 1]
    assert [rid(v) for v in ("0", str(2**63), "-1", "+1", "1.0", "１", " 1", "1e3", "9" * 40)] == [None] * 9


def _requests(method: str, route: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("bousai_http_requests_total", {"method": method, "route": route, "status": "200"}) or 0.0


async def test_fast_answers_are_counted_under_their_route(client, resident):
    """An operator watching a disaster night sees the hottest routes by name in the request
    metrics, not as 'unmatched'."""
    headers, _ = resident
    counted = [("GET", "/v1/shelters"), ("PUT", "/v1/me/location"), ("GET", "/v1/me/alerts")]
    before = [_requests(*c) for c in counted]
    assert (await client.get("/v1/shelters", params={"lat": 37.75, "lon": 140.47})).status_code == 200
    assert (await client.put("/v1/me/location", json={"lat": 37.75, "lon": 140.47}, headers=headers)).status_code == 200
    assert (await client.get("/v1/me/alerts", headers=headers)).status_code == 200
    assert [_requests(*c) for c in counted] == [n + 1 for n in before]
