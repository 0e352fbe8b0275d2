"""Redis client factory. Built in the lifespan, never at import time."""

from __future__ import annotations

import redis.asyncio as aioredis

from server.settings import Settings


def make_redis(settings: Settings, *, url: str | None = None) -> aioredis.Redis:
    return aioredis.from_url(url or settings.redis_url, decode_responses=False, health_check_interval=30)
