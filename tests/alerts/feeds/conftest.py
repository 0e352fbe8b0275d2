"""Fixtures for the feed tests: the local feed server and settings pointing at it."""

from __future__ import annotations

import pytest


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
