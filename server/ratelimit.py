"""Rate limits in Redis: fixed windows keyed by account, device or client address.

Fixed windows (INCR + EXPIRE in one round trip) are enough here: the limits protect the
service and slow guessing; they are not billing. Every api process shares the counters.

Use as a dependency::

    router = APIRouter(dependencies=[Depends(rate_limit("resident", 120, 60, key=device_key))])

or call :func:`hit` directly (sign-in attempts count failures only, see ``server.staff``).
Resident routes adopt it per device with ``key=bearer_key``, e.g. on a router::

    APIRouter(dependencies=[Depends(rate_limit("resident", 120, 60, key=bearer_key))])
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson
import redis.asyncio as aioredis
from fastapi import Request
from redis.exceptions import RedisError

from server.auth.tokens import MalformedAuthorization, asgi_authorization, bearer_from_header, credential_key
from server.errors import AppError, error_body

KEY_PREFIX = "ratelimit:"


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int
    limit: int
    retry_after: int


def _key(name: str, subject: str, window: int) -> tuple[str, int]:
    now = int(time.time())
    bucket = now // window
    return f"{KEY_PREFIX}{name}:{subject}:{bucket}", window - (now % window)


async def hit(redis: aioredis.Redis, name: str, subject: str, *, limit: int, window: int, cost: int = 1) -> Verdict:
    """Count one use of ``name`` by ``subject``; allowed while the window's count stays ≤ limit."""
    key, remaining = _key(name, subject, window)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incrby(key, cost)
        pipe.expire(key, window + 1)
        count, _ = await pipe.execute()
    return Verdict(allowed=int(count) <= limit, count=int(count), limit=limit, retry_after=remaining)


async def peek(redis: aioredis.Redis, name: str, subject: str, *, window: int) -> int:
    key, _ = _key(name, subject, window)
    value = await redis.get(key)
    return int(value or 0)


async def clear(redis: aioredis.Redis, name: str, subject: str, *, window: int) -> None:
    key, _ = _key(name, subject, window)
    await redis.delete(key)


def raise_limited(verdict: Verdict, what: str) -> None:
    raise RateLimited(
        f"too many {what}; retry in {verdict.retry_after} s",
        detail={"limit": verdict.limit, "retry_after": verdict.retry_after},
    )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def bearer_key(request: Request) -> str | None:
    """Per credential (a resident device's or a staff token), without a database lookup: a digest
    of the bearer token. None without one (the auth dependency answers 401)."""
    try:
        token = bearer_from_header(request.headers.get("authorization"))
    except MalformedAuthorization:
        return None
    return credential_key(token) if token else None


def rate_limit(
    name: str,
    limit: int,
    window: int,
    *,
    key: Callable[[Request], str | None | Awaitable[str | None]] = client_address,
):
    """A FastAPI dependency: 429 ``rate_limited`` once ``key(request)`` passes ``limit`` per ``window`` s.

    ``key`` returning None skips the limit (e.g. no credentials: the auth dependency answers 401).
    """

    async def _dependency(request: Request) -> None:
        subject = key(request)
        if hasattr(subject, "__await__"):
            subject = await subject  # type: ignore[misc]
        if subject is None:
            return
        verdict = await hit(request.app.state.redis, name, str(subject), limit=limit, window=window)
        if not verdict.allowed:
            raise_limited(verdict, "requests")

    return _dependency


# Resident API paths, limited per device credential (anonymous registration per address).
RESIDENT_PREFIXES = ("/v1/me", "/v1/groups", "/v1/safety-checks", "/v1/devices")
# Registration is anonymous: per client address, generous because many phones share a
# carrier NAT address and a disaster makes everyone install the app at once.
REGISTRATIONS_PER_ADDRESS_PER_MINUTE = 600


class ResidentRateLimit:
    """Pure ASGI: every resident route counts against its device credential, one Redis round
    trip; 429 ``rate_limited`` with Retry-After past ``per_minute``. Sits outside the routers
    (and the location fast path), so no resident route can forget it."""

    def __init__(self, app, fastapi_app, per_minute: int):
        self.app = app
        self.fastapi_app = fastapi_app
        self.per_minute = per_minute

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(RESIDENT_PREFIXES):
            return await self.app(scope, receive, send)
        limit = self.per_minute
        try:
            token = bearer_from_header(asgi_authorization(scope))
        except MalformedAuthorization:
            token = None
        if token:
            subject = "d:" + credential_key(token)
        else:
            if scope["path"] != "/v1/devices":
                return await self.app(scope, receive, send)  # the auth check answers 401
            client = scope.get("client")
            subject, limit = "a:" + (client[0] if client else "unknown"), REGISTRATIONS_PER_ADDRESS_PER_MINUTE
        try:
            verdict = await hit(self.fastapi_app.state.redis, "resident", subject, limit=limit, window=60)
        except (OSError, RedisError):
            verdict = None  # Redis down must never take the resident API with it
        if verdict is not None and not verdict.allowed:
            body = orjson.dumps(error_body(f"too many requests; retry in {verdict.retry_after} s", "rate_limited",
                                           {"limit": verdict.limit, "retry_after": verdict.retry_after}))
            await send({"type": "http.response.start", "status": 429, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(verdict.retry_after).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
