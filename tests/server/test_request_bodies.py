"""Request bodies at the edge (issue 12, item 10): an oversized chunked body is 413, a body
that trickles is 408 within its deadline."""

from __future__ import annotations

import asyncio
import time

import httpx


async def test_an_oversized_chunked_body_is_413(client):
    async def chunks():
        for _ in range(40):
            yield b" " * 10_000  # no Content-Length: 400 KB in pieces

    r = await client.post("/v1/devices", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"


async def test_a_trickling_body_is_408_at_its_deadline(settings, engine, redis_client):
    from server.app import create_app
    from tests.kits.db import truncate_all

    app = create_app(settings.model_copy(update={"request_body_timeout_seconds": 1.0}))

    async def trickle():
        yield b'{"platform": '
        await asyncio.sleep(30)
        yield b'"web"}'

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            started = time.monotonic()
            r = await asyncio.wait_for(c.post("/v1/devices", content=trickle(),
                                              headers={"content-type": "application/json"}), 10)
    await truncate_all(engine)
    assert r.status_code == 408 and r.json()["code"] == "request_timeout"
    assert time.monotonic() - started < 3
