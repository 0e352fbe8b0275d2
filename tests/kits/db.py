"""This run's database and Redis, and wiping what a test committed."""

from __future__ import annotations

import os

from sqlalchemy import text

# A database per test run (dropped at the end), so concurrent runs never trample each other.
TEST_DB_URL = os.environ.get(
    "BOUSAI_TEST_DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:5432/bousai_test_{os.getpid()}"
)
# Redis db 15 is the tests' own; make run uses db 0.
TEST_REDIS_URL = os.environ.get("BOUSAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# Tables filled once per run with reference data; never truncated between tests.
REFERENCE_TABLES = {"areas", "alembic_version", "spatial_ref_sys"}


async def truncate_all(engine) -> None:
    async with engine.begin() as conn:
        rows = await conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        names = [r[0] for r in rows if r[0] not in REFERENCE_TABLES]
        if names:
            await conn.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"))
