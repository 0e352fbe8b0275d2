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
