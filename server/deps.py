"""Request dependencies: the session (committed here, never in services), Redis, settings."""

from __future__ import annotations

from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from server.settings import Settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A route takes it as ``session: AsyncSession = SESSION`` (``scope="function"``): the
    commit then runs when the endpoint returns, before the answer is sent. With FastAPI's default ("request") it runs after the
    answer has gone out: a client told 201 could read back nothing yet, and a failed commit
    would be a lost write reported as a success. ``tests/server/test_session_scope.py`` keeps
    every route to this."""
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# The one way routes ask for a session (see get_session for why the scope matters).
SESSION = Depends(get_session, scope="function")


def get_redis(request: Request) -> aioredis.Redis:
    return request.app.state.redis


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings
