"""Fixtures for the alerts tests: a sessionmaker whose commits are real (the feed and alert tables wiped after)."""

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
