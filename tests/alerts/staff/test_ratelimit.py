"""server.ratelimit: fixed windows in real Redis, as a dependency keyed per credential or address."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager

import httpx
import redis.asyncio as aioredis
from fastapi import Depends, FastAPI

from server import ratelimit
from server.errors import install_error_handlers


@asynccontextmanager
async def rl_redis_client():
    """A client made in the test's own loop, on the tests' Redis db; our keys removed after."""
    r = aioredis.from_url(os.environ.get("BOUSAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    try:
        yield r
    finally:
        keys = await r.keys("ratelimit:t-*")
        if keys:
            await r.delete(*keys)
        await r.aclose()


def _app(rl_redis, limit: int) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.state.redis = rl_redis

    @app.get("/per-device", dependencies=[Depends(ratelimit.rate_limit("t-dev", limit, 60, key=ratelimit.bearer_key))])
    async def per_device():
        return {"ok": True}

    @app.get("/per-ip", dependencies=[Depends(ratelimit.rate_limit("t-ip", limit, 60))])
    async def per_ip():
        return {"ok": True}

    return app


async def test_limit_is_per_credential_and_answers_429():
    async with rl_redis_client() as rl_redis:
        app = _app(rl_redis, 3)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            a = {"Authorization": "Bearer device-a"}
            codes = [(await c.get("/per-device", headers=a)).status_code for _ in range(5)]
            # One window of 60 s: 3 allowed then refused (a minute boundary mid-test can only allow more).
            assert codes[:3].count(200) >= 2 and codes.count(429) >= 1
            r = await c.get("/per-device", headers={"Authorization": "Bearer device-b"})
            assert r.status_code == 200  # another device has its own budget
            r = await c.get("/per-device", headers=a)
            if r.status_code == 429:
                body = r.json()
                assert body["code"] == "rate_limited" and body["detail"]["limit"] == 3 and body["detail"]["retry_after"] >= 1
            # No credential: not this dependency's business (the auth dependency answers 401).
            assert [(await c.get("/per-device")).status_code for _ in range(5)] == [200] * 5


async def test_limit_per_address():
    async with rl_redis_client() as rl_redis:
        app = _app(rl_redis, 2)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("10.0.0.1", 1)), base_url="http://t") as c:
            codes = [(await c.get("/per-ip")).status_code for _ in range(4)]
        assert codes.count(429) >= 1
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("10.0.0.2", 1)), base_url="http://t") as c:
            assert (await c.get("/per-ip")).status_code == 200


async def test_hit_counts_and_clear_resets():
    async with rl_redis_client() as rl_redis:
        v = await ratelimit.hit(rl_redis, "t-hit", "x", limit=2, window=60)
        assert v.allowed and v.count == 1
        await ratelimit.hit(rl_redis, "t-hit", "x", limit=2, window=60)
        v = await ratelimit.hit(rl_redis, "t-hit", "x", limit=2, window=60)
        assert not v.allowed and v.count == 3
        assert await ratelimit.peek(rl_redis, "t-hit", "x", window=60) == 3
        await ratelimit.clear(rl_redis, "t-hit", "x", window=60)
        assert await ratelimit.peek(rl_redis, "t-hit", "x", window=60) == 0
        assert await rl_redis.keys("ratelimit:t-hit:*") == []
        await ratelimit.hit(rl_redis, "t-hit", "x", limit=2, window=60)
        [key] = await rl_redis.keys("ratelimit:t-hit:*")
        assert 0 < await rl_redis.ttl(key) <= 61  # windows expire on their own
