"""Fixtures for the alert-event tests: a sessionmaker whose commits are real (tables wiped after)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from server.db import make_sessionmaker

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
