"""Outages are documented 503s with Retry-After, never 500s or hangs (issue 12, item 4)."""

from __future__ import annotations

import time
from contextlib import asynccontextmanager

import httpx
import pytest
from prometheus_client import REGISTRY

from server import ratelimit
from tests.kits.db import truncate_all
from tests.kits.outage import PostgresProxy, closed_port
from tests.kits.staff import PASSWORD, make_account


@asynccontextmanager
async def app_with(settings, engine, **changes):
    from server.app import create_app

    application = create_app(settings.model_copy(update=changes))
    try:
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application, raise_app_exceptions=False, client=("192.0.2.10", 1234))
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                yield application, c
    finally:
        await truncate_all(engine)


def degraded(limit: str) -> float:
    return REGISTRY.get_sample_value("bousai_ratelimit_degraded_total", {"limit": limit}) or 0.0


@pytest.fixture
async def proxy(db_url):
    p = await PostgresProxy(db_url).start()
    yield p
    await p.stop()


async def test_database_that_never_answers_is_503_within_the_deadlines(settings, engine, proxy):
    async with app_with(settings, engine, database_url=proxy.url, db_connect_timeout_seconds=1.0,
                        db_statement_timeout_seconds=2.0) as (app, client):
        token = (await client.post("/v1/devices", json={"platform": "web"})).json()["token"]
        proxy.go_silent()
        started = time.monotonic()
        r = await client.get("/readyz")
        assert r.status_code == 503 and time.monotonic() - started < 2.0
        assert r.json()["detail"]["database"].startswith("error") and r.json()["detail"]["redis"] == "ok"
        assert int(r.headers["retry-after"]) > 0
        for method, path, body in (("GET", "/v1/me", None), ("GET", "/v1/shelters?lat=37.75&lon=140.47", None),
                                   ("PUT", "/v1/me/location", {"lat": 37.75, "lon": 140.47}),  # the raw-pool fast path
                                   # the GET fast paths (server.fastpath): raw pool, and a session of their own
                                   ("GET", "/v1/me/alerts", None), ("GET", "/v1/groups/1/statuses", None),
                                   ("GET", "/v1/alerts/1", None)):
            started = time.monotonic()
            r = await client.request(method, path, headers={"Authorization": f"Bearer {token}"}, json=body)
            took = time.monotonic() - started
            assert r.status_code == 503, r.text
            assert r.json()["code"] == "database_unavailable" and int(r.headers["retry-after"]) > 0
            # The statement deadline, then one reconnect attempt at most.
            assert took < 2.0 + 1.0 + 1.5, (path, took)
        proxy.refuse()  # let the app shut down without waiting on silent connections


async def test_database_that_refuses_is_503_not_500(settings, engine, proxy):
    async with app_with(settings, engine, database_url=proxy.url) as (app, client):
        token = (await client.post("/v1/devices", json={"platform": "web"})).json()["token"]
        proxy.refuse()
        for path in ("/v1/me", "/v1/me/alerts", "/v1/groups/1/statuses", "/v1/alerts/1",
                     "/v1/shelters?lat=37.75&lon=140.47"):
            r = await client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 503 and r.json()["code"] == "database_unavailable", (path, r.text)
            assert int(r.headers["retry-after"]) > 0
        r = await client.post("/v1/staff/auth/login", json={"username": "nobody", "password": "x" * 12})
        assert r.status_code == 503 and r.json()["code"] == "database_unavailable", r.text
        r = await client.get("/readyz")
        assert r.status_code == 503 and r.json()["detail"]["database"].startswith("error")


async def test_redis_down_staff_sign_in_and_routes_answer_and_limits_fail_safe(settings, engine):
    ratelimit.reset_fallback()
    async with app_with(settings, engine, redis_url=f"redis://127.0.0.1:{closed_port()}/15") as (app, client):
        await make_account(app, "prefecture", username="kiki")
        before = degraded("staff-login-pair")
        r = await client.post("/v1/staff/auth/login", json={"username": "kiki", "password": PASSWORD})
        assert r.status_code == 200, r.text
        staff = {"Authorization": f"Bearer {r.json()['token']}"}
        assert degraded("staff-login-pair") > before  # and the metric says so
        assert (await client.get("/v1/staff/me", headers=staff)).status_code == 200
        assert (await client.get("/v1/staff/notices", headers=staff)).status_code == 200
        r = await client.post("/v1/devices", json={"platform": "web"})
        assert r.status_code == 201, r.text
        resident = {"Authorization": f"Bearer {r.json()['token']}"}
        assert (await client.get("/v1/me", headers=resident)).status_code == 200
        r = await client.get("/readyz")
        assert r.status_code == 503 and r.json()["detail"]["redis"].startswith("error")
        # Failing safe is not failing open: guesses are still counted, in this process.
        codes = [(await client.post("/v1/staff/auth/login", json={"username": "kiki", "password": "wrong password!"}))
                 .status_code for _ in range(12)]
        assert codes.count(401) == 10 and codes[-1] == 429
    ratelimit.reset_fallback()


async def test_a_redis_that_never_answers_costs_one_deadline_not_one_per_request(settings, engine):
    import asyncio

    held = []

    async def silent(reader, writer):
        held.append(writer)  # accepted, never answered

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    ratelimit.reset_fallback()
    try:
        async with app_with(settings, engine, redis_url=f"redis://127.0.0.1:{port}/15") as (app, client):
            took = []
            for _ in range(4):
                started = time.monotonic()
                r = await client.post("/v1/devices", json={"platform": "web"})
                took.append(time.monotonic() - started)
                assert r.status_code == 201, r.text
            assert took[0] < ratelimit.REDIS_DEADLINE_SECONDS + 1.0
            assert max(took[1:]) < ratelimit.REDIS_DEADLINE_SECONDS, took
            started = time.monotonic()
            r = await client.get("/readyz")
            assert r.status_code == 503 and time.monotonic() - started < 2.0
            assert r.json()["detail"]["redis"].startswith("error")
    finally:
        for w in held:
            w.close()
        server.close()
        ratelimit.reset_fallback()
