"""Database kit: declarative Base with a naming convention, engine and session factories.

Engines are built in the app's lifespan (or by a CLI command) and handed down; nothing
connects at import time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from server.settings import Settings

# Deterministic constraint names so Alembic diffs are stable.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(
    settings: Settings, *, url: str | None = None, statement_timeout: float | None = None,
    application_name: str | None = None, **kw
) -> AsyncEngine:
    """An engine whose connects and pool waits have deadlines (settings); with
    ``statement_timeout`` every statement has one too, enforced by the client (a database
    that accepts but never answers) and by the server (a runaway query). Its connections
    carry ``application_name`` (``bousai-api``, ``bousai-worker`` …): an operator sees in
    ``pg_stat_activity`` which process holds what."""
    kw.setdefault("pool_size", settings.db_pool_size)
    kw.setdefault("max_overflow", settings.db_max_overflow)
    kw.setdefault("pool_pre_ping", True)
    kw.setdefault("pool_timeout", settings.db_pool_timeout_seconds)
    # Parameters never go into error messages: they carry home coordinates, tokens, usernames.
    kw.setdefault("hide_parameters", True)
    url = url or settings.database_url
    connect_args = dict(kw.pop("connect_args", {}))
    if "+asyncpg" not in url:  # the deadlines below are asyncpg's connect arguments
        return create_async_engine(url, connect_args=connect_args, **kw)
    connect_args.setdefault("timeout", settings.db_connect_timeout_seconds)
    server_settings = dict(connect_args.get("server_settings") or {})
    if statement_timeout:
        connect_args.setdefault("command_timeout", statement_timeout)
        server_settings.setdefault("statement_timeout", str(int(statement_timeout * 1000)))
    if application_name:
        server_settings.setdefault("application_name", application_name)
    if server_settings:
        connect_args["server_settings"] = server_settings
    return create_async_engine(url, connect_args=connect_args, **kw)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def unit_of_work(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """The job wrapper: commit on success, roll back on error. Services never commit."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def driver_in_transaction(conn: AsyncConnection) -> Any:
    """The driver (asyncpg) connection under ``conn``, inside ``conn``'s transaction.

    SQLAlchemy's asyncpg adapter sends BEGIN only with its own first statement: a statement
    sent straight to the driver before any went out in autocommit — a ``FOR UPDATE`` lock
    taken that way ends with the statement. One ``SELECT 1`` starts the transaction first
    when it has not begun."""
    raw: Any = (await conn.get_raw_connection()).driver_connection
    if not raw.is_in_transaction():
        await conn.exec_driver_sql("SELECT 1")
        raw = (await conn.get_raw_connection()).driver_connection
    return raw


async def warm_pool(engine: AsyncEngine, connections: int) -> None:
    """Open ``connections`` of ``engine``'s pool now (they stay in it, idle): the first burst of
    requests then checks out open connections instead of opening them."""
    opened: list[AsyncConnection] = []
    try:
        for _ in range(connections):
            opened.append(await engine.connect())
    finally:
        for conn in opened:
            await conn.close()


@asynccontextmanager
async def raw_connection(pool: Any) -> AsyncIterator[Any]:
    """A connection of a raw asyncpg pool, given back on leaving — or dropped when a statement on
    it went unanswered (the client-side deadline, or the socket failed). asyncpg would otherwise
    make the release wait for its CancelRequest to a silent server, up to one more statement
    deadline, before the request could answer 503. (A deadline the *server* enforced,
    ``statement_timeout``, is an ordinary error: the connection is fine and goes back.)"""
    async with pool.acquire() as conn:
        try:
            yield conn
        except (TimeoutError, OSError):
            conn.terminate()
            raise


def sync_url(url: str) -> str:
    """The psycopg (sync) form of an asyncpg URL, for Alembic and bulk loads."""
    return url.replace("+asyncpg", "+psycopg")


def asyncpg_dsn(url: str) -> str:
    """The plain libpq form of a SQLAlchemy URL, for a raw asyncpg pool."""
    return url.replace("postgresql+asyncpg://", "postgresql://").replace("postgresql+psycopg://", "postgresql://")
