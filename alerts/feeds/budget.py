"""Daily download budget kept in Redis, shared by every poller process."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from alerts.feeds.metrics import FEED_BUDGET_EXHAUSTED, FEED_ERRORS

log = structlog.get_logger()

JST = timezone(timedelta(hours=9))
# Two days: the key outlives its day long enough to be inspected, then vanishes.
KEY_TTL_SECONDS = 2 * 24 * 3600


class ByteBudget:
    def __init__(self, redis: aioredis.Redis, daily_bytes: int, *, prefix: str = "bousai:feeds:bytes") -> None:
        self.redis = redis
        self.daily_bytes = daily_bytes
        self.prefix = prefix

    def key(self, now: datetime | None = None) -> str:
        # JMA counts a client's traffic per Japanese calendar day.
        day = (now or datetime.now(JST)).astimezone(JST).strftime("%Y%m%d")
        return f"{self.prefix}:{day}"

    async def used(self) -> int:
        value = await self.redis.get(self.key())
        return int(value or 0)

    async def allow(self) -> bool:
        """False once today's budget is spent. Fails open: a Redis outage must not stop alerts."""
        try:
            used = await self.used()
        except (RedisError, OSError) as exc:
            FEED_ERRORS.labels("budget_unavailable").inc()
            log.warning("alerts.feed.budget_unavailable", error=str(exc))
            return True
        if used >= self.daily_bytes:
            FEED_BUDGET_EXHAUSTED.inc()
            log.error("alerts.feed.budget_exhausted", used=used, budget=self.daily_bytes)
            return False
        return True

    async def add(self, n: int) -> None:
        try:
            pipe = self.redis.pipeline(transaction=True)
            key = self.key()
            pipe.incrby(key, n)
            pipe.expire(key, KEY_TTL_SECONDS)
            await pipe.execute()
        except (RedisError, OSError) as exc:
            FEED_ERRORS.labels("budget_unavailable").inc()
            log.warning("alerts.feed.budget_unavailable", error=str(exc))
