"""Sending a batch until every message has a final answer.

``send_with_retries`` resends only ``retry`` results, with capped exponential backoff and
full jitter (AWS's "full jitter": sleep uniform(0, min(cap, base·2^attempt))), never
sooner than the provider's Retry-After. A quota error (FCM QUOTA_EXCEEDED) also sets a
cool-down key in Redis that every worker honours before its next send, so a fleet backs
off together instead of each worker discovering the quota on its own. Sends pass through
the shared token bucket first (``ratelimit.RedisTokenBucket``).

Dead tokens are reported, not deleted: the caller (the delivery worker) owns the
database and deletes exactly the tokens listed, through ``dead_token_sink`` or from the
returned ``SendOutcome.dead_tokens``.
"""

from __future__ import annotations

import asyncio
import inspect
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import redis.asyncio as aioredis
import structlog

from my_evacuation.push.providers.base import PushMessage, PushProvider, PushResult, Status
from my_evacuation.push.providers.classification import is_quota
from my_evacuation.push.providers.ratelimit import RedisTokenBucket

log = structlog.get_logger("my_evacuation.push.providers")

# Six attempts with a 0.5 s base and 30 s cap span about a minute: long enough to ride
# out an FCM 503 burst, short enough that a stuck batch is handed back to the queue.
DEFAULT_MAX_ATTEMPTS = 6
DEFAULT_BASE_DELAY = 0.5
DEFAULT_MAX_DELAY = 30.0
# Without a Retry-After, a quota error cools every worker down this long.
DEFAULT_QUOTA_COOLDOWN = 1.0


@dataclass
class SendOutcome:
    results: list[PushResult]  # one final result per message, in batch order
    dead_tokens: list[str] = field(default_factory=list)
    attempts: int = 0  # provider.send calls
    resent: int = 0  # messages sent more than once

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status is status)


def cooldown_key(provider_name: str) -> str:
    return f"push:cooldown:{provider_name}"


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Full jitter: uniform in [0, min(cap, base·2^(attempt-1))]."""
    r = rng or random
    return r.uniform(0, min(cap, base * (2 ** (attempt - 1))))


async def wait_cooldown(redis: aioredis.Redis | None, provider_name: str, sleep=asyncio.sleep) -> float:
    if redis is None:
        return 0.0
    ms = await redis.pttl(cooldown_key(provider_name))
    if ms and ms > 0:
        await sleep(ms / 1000)
        return ms / 1000
    return 0.0


async def start_cooldown(redis: aioredis.Redis | None, provider_name: str, seconds: float) -> None:
    if redis is None or seconds <= 0:
        return
    # GT: never shorten a cool-down another worker already started.
    key = cooldown_key(provider_name)
    ms = int(seconds * 1000)
    if not await redis.set(key, b"1", px=ms, nx=True):
        if (await redis.pttl(key)) < ms:
            await redis.pexpire(key, ms)


DeadTokenSink = Callable[[list[str]], Awaitable[None] | None]


async def send_with_retries(
    provider: PushProvider,
    batch: list[PushMessage],
    *,
    limiter: RedisTokenBucket | None = None,
    redis: aioredis.Redis | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    base_delay: float = DEFAULT_BASE_DELAY,
    max_delay: float = DEFAULT_MAX_DELAY,
    dead_token_sink: DeadTokenSink | None = None,
    rng: random.Random | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> SendOutcome:
    final: list[PushResult | None] = [None] * len(batch)
    pending = list(range(len(batch)))
    outcome = SendOutcome(results=[])
    attempt = 0
    while pending:
        attempt += 1
        await wait_cooldown(redis, provider.name, sleep)
        if limiter is not None:
            await limiter.acquire(len(pending))
        results = await provider.send([batch[i] for i in pending])
        outcome.attempts += 1
        if attempt > 1:
            outcome.resent += len(pending)
        still: list[int] = []
        retry_after = 0.0
        quota = False
        for i, r in zip(pending, results, strict=True):
            if r.status is Status.RETRY and attempt < max_attempts:
                still.append(i)
                retry_after = max(retry_after, r.retry_after or 0.0)
                quota = quota or is_quota(r.error_code)
            else:
                final[i] = r
        pending = still
        if quota:
            await start_cooldown(redis, provider.name, retry_after or DEFAULT_QUOTA_COOLDOWN)
            log.warning("push.quota_cooldown", provider=provider.name, seconds=retry_after or DEFAULT_QUOTA_COOLDOWN)
        if pending:
            delay = max(retry_after, backoff_delay(attempt, base=base_delay, cap=max_delay, rng=rng))
            await sleep(delay)
    outcome.results = [r for r in final if r is not None]
    outcome.dead_tokens = [r.token for r in outcome.results if r.status is Status.DEAD_TOKEN and r.token]
    if outcome.dead_tokens and dead_token_sink is not None:
        ret = dead_token_sink(list(outcome.dead_tokens))
        if inspect.isawaitable(ret):
            await ret
    return outcome
