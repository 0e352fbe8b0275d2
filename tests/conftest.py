"""Test harness: a database of its own built by the migrations, real Redis, the real app.

- ``db_url``: a database of this run's own (``bousai_test_<pid>`` unless
  BOUSAI_TEST_DATABASE_URL), built by ``alembic upgrade`` and dropped at the end.
- ``session``: one test in one transaction that rolls back.
- ``client``: the app over ASGI with its lifespan; data it commits is wiped after the test
  (tables truncated), so tests stay independent.

Every async test and fixture shares one session event loop. A test that runs CLI code in process
(code that calls ``asyncio.run()``) is async and runs it with ``asyncio.to_thread``, or runs
the command in a subprocess: ``asyncio.run()`` on this thread would unset the session loop.
"""

from __future__ import annotations

import os

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from server.dbsetup import create_database, drop_database, upgrade
from server.settings import Settings
from tests.kits.db import TEST_DB_URL, TEST_REDIS_URL, truncate_all

pytest_plugins = [
    "tests.kits.console",
    "tests.kits.delivery",
    "tests.kits.push",
]


@pytest.fixture(scope="session")
def db_url():
    create_database(TEST_DB_URL, drop=True)
    upgrade(TEST_DB_URL)
    from geo.areas.loader import load_areas_sync

    load_areas_sync(TEST_DB_URL, quiet=True)
    yield TEST_DB_URL
    if "BOUSAI_TEST_DATABASE_URL" not in os.environ:
        drop_database(TEST_DB_URL)


@pytest.fixture(scope="session")
def settings(db_url) -> Settings:
    # Hundreds of apps start and stop here: each opens only what the old floor was (the warm
    # pools themselves: tests/server/test_db.py).
    return Settings(database_url=db_url, redis_url=TEST_REDIS_URL, log_json=False, log_level="WARNING",
                    db_pool_warm_connections=2)


@pytest.fixture(scope="session")
async def engine(db_url):
    eng = create_async_engine(db_url, pool_size=5)
    yield eng
    await eng.dispose()


@pytest.fixture
async def session(engine):
    async with engine.connect() as conn:
        trans = await conn.begin()
        s = AsyncSession(bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint")
        try:
            yield s
        finally:
            await s.close()
            await trans.rollback()


@pytest.fixture
async def redis_client():
    r = aioredis.from_url(TEST_REDIS_URL)
    await r.flushdb()
    yield r
    await r.flushdb()
    await r.aclose()


@pytest.fixture
async def app(settings, engine, redis_client):
    from server.app import create_app

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
    await truncate_all(engine)


@pytest.fixture
async def client(app):
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
async def routes_client(app):
    """The same app without its GET fast paths (server.fastpath): every request answered by
    the routes, to compare with what the fast paths answer."""
    from server.fastpath import FastPathMiddleware

    saved = app.user_middleware
    app.user_middleware = [m for m in saved if m.cls is not FastPathMiddleware]
    try:
        stack = app.build_middleware_stack()
    finally:
        app.user_middleware = saved

    async def routes_only(scope, receive, send):
        scope["app"] = app
        await stack(scope, receive, send)

    transport = httpx.ASGITransport(app=routes_only, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
async def resident(client):
    """A registered Android resident: returns (headers, body)."""
    r = await client.post(
        "/v1/devices", json={"platform": "android", "fcm_token": "tok-resident-fixture", "language": "ja"}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    return {"Authorization": f"Bearer {body['token']}"}, body
