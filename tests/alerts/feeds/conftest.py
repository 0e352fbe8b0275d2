"""Fixtures for the alert-event tests: a sessionmaker whose commits are real (tables wiped after)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from server.db import make_sessionmaker

try:  # the shared db_url fixture loads areas through geo's loader; until it exists, build the schema only
    import geo.areas.loader  # noqa: F401
except ModuleNotFoundError:
    import os

    TEST_DB_URL = os.environ.get(
        "BOUSAI_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bousai_test"
    )

    @pytest.fixture(scope="session")
    def db_url() -> str:
        from server.dbsetup import check, create_database, upgrade

        create_database(TEST_DB_URL, drop=True)
        upgrade(TEST_DB_URL)
        check(TEST_DB_URL)
        return TEST_DB_URL


MY_TABLES = ("alert_outbox", "alerts", "alert_events", "feed_entries", "feed_state")


@pytest.fixture
async def sessionmaker(engine):
    yield make_sessionmaker(engine)
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE " + ", ".join(MY_TABLES) + " RESTART IDENTITY CASCADE"))


@pytest.fixture
async def feed_server():
    from alerts.feeds.server import FeedServer

    server = await FeedServer().start()
    yield server
    await server.stop()


@pytest.fixture
def feed_settings(settings, feed_server):
    return settings.model_copy(
        update={
            "jma_feeds": [feed_server.feed_url(n) for n in ("extra", "eqvol", "regular", "other")],
            "cap_feeds": [feed_server.feed_url("cap")],
            "feed_allowed_hosts": [],
            "feed_timeout_seconds": 5.0,
        }
    )


@pytest.fixture
async def poller(feed_settings, sessionmaker, redis_client):
    from alerts.feeds.poller import FeedPoller

    p = FeedPoller(feed_settings, sessionmaker, redis_client)
    yield p
    await p.aclose()
