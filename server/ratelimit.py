"""Rate limits in Redis: fixed windows keyed by account, device or client address.

Fixed windows (INCR + EXPIRE in one round trip) are enough here: the limits protect the
service and slow guessing; they are not billing. Every api process shares the counters.

Use as a dependency::

    router = APIRouter(dependencies=[Depends(rate_limit("resident", 120, 60, key=device_key))])

or call :func:`hit_failsafe` directly (sign-in attempts, see ``alerts.staff``).

When Redis does not answer (down, or silent past :data:`REDIS_DEADLINE_SECONDS`) every limit
here *fails safe*: the request is counted in this process instead (the same limits, per
process rather than shared), so sign-in and every route keep answering and guessing is
still bounded; each such check counts in ``bousai_ratelimit_degraded_total{limit}`` and a
warning is logged at most once a minute per limit.
Resident routes adopt it per device with ``key=bearer_key``, e.g. on a router::

    APIRouter(dependencies=[Depends(rate_limit("resident", 120, 60, key=bearer_key))])
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import redis.asyncio as aioredis
import structlog
from fastapi import Request
from prometheus_client import Counter
from redis.exceptions import RedisError

from server.bearer import MalformedAuthorization, asgi_authorization, bearer_from_header, credential_key
from server.errors import AppError, error_body

KEY_PREFIX = "ratelimit:"
# A limit check is one round trip to Redis on the local network (well under a millisecond):
# one that has not answered in half a second is down as far as this request is concerned.
REDIS_DEADLINE_SECONDS = 0.5
# After Redis failed to answer, checks go straight to the in-process fallback for this long
# instead of each request waiting out the deadline again (a silent Redis cost every request
# half a second); then Redis is tried again.
REDIS_RETRY_AFTER_FAILURE_SECONDS = 5.0
# The in-process fallback forgets everything past this many keys (a flood of addresses must
# not grow it without bound; forgetting only ever allows more).
LOCAL_MAX_KEYS = 100_000

log = structlog.get_logger()

RATELIMIT_DEGRADED = Counter(
    "bousai_ratelimit_degraded_total",
    "Rate-limit checks counted in process because Redis did not answer (limits are per process meanwhile)",
    ["limit"],
)


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int
    limit: int
    retry_after: int
    # Counted in this process because Redis did not answer.
    degraded: bool = False


def _key(name: str, subject: str, window: int) -> tuple[str, int]:
    now = int(time.time())
    bucket = now // window
    return f"{KEY_PREFIX}{name}:{subject}:{bucket}", window - (now % window)


# INCRBY and EXPIRE as one command: atomic in Redis, one reply to parse. A MULTI/EXEC
# pipeline is the same round trip but four commands and replies, and its Python side was
# the larger part of a resident request's rate-limit cost (profiled under the surge bench).
_HIT_SCRIPT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return count
"""
_scripts: weakref.WeakKeyDictionary[aioredis.Redis, Any] = weakref.WeakKeyDictionary()


def _hit_script(redis: aioredis.Redis) -> Any:
    """The script registered on this client (EVALSHA; loaded again by redis-py after a flush or restart)."""
    try:
        script = _scripts.get(redis)
        if script is None:
            script = _scripts[redis] = redis.register_script(_HIT_SCRIPT)
        return script
    except TypeError:  # a client that cannot be weakly referenced
        return redis.register_script(_HIT_SCRIPT)


async def hit(redis: aioredis.Redis, name: str, subject: str, *, limit: int, window: int, cost: int = 1) -> Verdict:
    """Count one use of ``name`` by ``subject``; allowed while the window's count stays ≤ limit."""
    key, remaining = _key(name, subject, window)
    count = int(await _hit_script(redis)(keys=[key], args=[cost, window + 1]))
    return Verdict(allowed=count <= limit, count=count, limit=limit, retry_after=remaining)


class _SkippedRedis(Exception):
    """Redis failed a moment ago: not asked again yet."""


def reset_fallback() -> None:
    """Forget the in-process counts and ask Redis again at once (tests, and a Redis known back)."""
    LOCAL.clear()
    _skipped_until.clear()


class LocalWindows:
    """The same fixed windows in this process's memory: the fallback while Redis is away."""

    def __init__(self, max_keys: int = LOCAL_MAX_KEYS) -> None:
        self.max_keys = max_keys
        self.counts: dict[str, int] = {}

    def add(self, key: str, cost: int) -> int:
        if key not in self.counts and len(self.counts) >= self.max_keys:
            self.counts.clear()
        self.counts[key] = self.counts.get(key, 0) + cost
        return self.counts[key]

    def clear(self) -> None:
        self.counts.clear()


LOCAL = LocalWindows()
_last_warned: dict[str, float] = {}
# Per Redis client (each app has its own): when it may be asked again.
_skipped_until: weakref.WeakKeyDictionary[aioredis.Redis, float] = weakref.WeakKeyDictionary()


def _skipping(redis: aioredis.Redis) -> bool:
    try:
        return time.monotonic() < _skipped_until.get(redis, 0.0)
    except TypeError:  # a client that cannot be weakly referenced: always ask it
        return False


def _degraded(redis: aioredis.Redis, name: str, exc: BaseException | None) -> None:
    if exc is not None:
        try:
            _skipped_until[redis] = time.monotonic() + REDIS_RETRY_AFTER_FAILURE_SECONDS
        except TypeError:
            pass
    RATELIMIT_DEGRADED.labels(name).inc()
    now = time.monotonic()
    if now - _last_warned.get(name, -1e9) >= 60:
        _last_warned[name] = now
        log.warning("server.ratelimit.redis_unavailable", limit=name, error=type(exc).__name__ if exc else None,
                    policy="counted in process until Redis answers")


async def hit_failsafe(
    redis: aioredis.Redis, name: str, subject: str, *, limit: int, window: int, cost: int = 1
) -> Verdict:
    """:func:`hit`, counted in this process when Redis does not answer (see the module's policy)."""
    try:
        if _skipping(redis):
            raise _SkippedRedis()
        async with asyncio.timeout(REDIS_DEADLINE_SECONDS):
            return await hit(redis, name, subject, limit=limit, window=window, cost=cost)
    except (RedisError, OSError, TimeoutError, _SkippedRedis) as exc:
        _degraded(redis, name, None if isinstance(exc, _SkippedRedis) else exc)
        key, remaining = _key(name, subject, window)
        count = LOCAL.add(key, cost)
        return Verdict(allowed=count <= limit, count=count, limit=limit, retry_after=remaining, degraded=True)


async def give_back(redis: aioredis.Redis, name: str, subject: str, *, window: int, cost: int = 1) -> None:
    """Undo ``cost`` of a :func:`hit_failsafe` (e.g. a sign-in that succeeded)."""
    key, _ = _key(name, subject, window)
    if key in LOCAL.counts:
        LOCAL.counts[key] = max(0, LOCAL.counts[key] - cost)
    if _skipping(redis):
        return
    try:
        async with asyncio.timeout(REDIS_DEADLINE_SECONDS), redis.pipeline(transaction=True) as pipe:
            pipe.decrby(key, cost)
            pipe.expire(key, window + 1)  # never a key without expiry, even across a window boundary
            await pipe.execute()
    except (RedisError, OSError, TimeoutError) as exc:
        _degraded(redis, name, exc)


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
        verdict = await hit_failsafe(request.app.state.redis, name, str(subject), limit=limit, window=window)
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
        # Redis down must never take the resident API with it: counted in process meanwhile.
        verdict = await hit_failsafe(self.fastapi_app.state.redis, "resident", subject, limit=limit, window=60)
        if not verdict.allowed:
            body = orjson.dumps(error_body(f"too many requests; retry in {verdict.retry_after} s", "rate_limited",
                                           {"limit": verdict.limit, "retry_after": verdict.retry_after}))
            await send({"type": "http.response.start", "status": 429, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(verdict.retry_after).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
