"""A token bucket in Redis, shared by every worker process sending through one provider.

One Lua script does the whole check-and-take atomically, with Redis's own clock (so
workers on different hosts agree). It *reserves*: a caller always takes its tokens and is
told how long to wait before using them, so waiting callers are served in arrival order
and nobody polls. The debt is bounded: a reservation that would wait longer than
``max_wait`` is refused untaken, and the caller asks again later.

FCM's default quota is 600,000 messages a minute per project (10,000/s); the bucket holds
one second of it so a quiet worker can send a full burst at once.
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

# KEYS[1] bucket hash; ARGV: rate per second, capacity, n, max wait (ms).
# Returns {granted 0|1, wait ms}.
_LUA = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local max_wait = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then
  tokens = capacity
  ts = now
end
tokens = math.min(capacity, tokens + (now - ts) * rate / 1000)
local after = tokens - n
local wait = 0
if after < 0 then
  wait = math.ceil(-after * 1000 / rate)
end
if wait > max_wait then
  redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
  redis.call('PEXPIRE', KEYS[1], 60000)
  return {0, wait}
end
redis.call('HSET', KEYS[1], 'tokens', after, 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.max(60000, wait * 2))
return {1, wait}
"""


class RedisTokenBucket:
    """``await bucket.acquire(n)`` returns once n sends are allowed under the shared rate."""

    def __init__(
        self,
        redis: aioredis.Redis,
        key: str,
        *,
        rate_per_minute: int,
        burst_seconds: float = 1.0,
        max_wait_seconds: float = 5.0,
    ):
        if rate_per_minute <= 0:
            raise ValueError("rate_per_minute must be positive")
        self.redis = redis
        self.key = f"push:ratelimit:{key}"
        self.rate = rate_per_minute / 60.0
        # At least one full batch fits, or a batch of 500 could never be granted at a low rate.
        self.capacity = max(self.rate * burst_seconds, 500.0)
        self.max_wait_ms = int(max_wait_seconds * 1000)
        self._script = redis.register_script(_LUA)

    async def try_acquire(self, n: int) -> tuple[bool, float]:
        """(granted, seconds to wait): granted means the tokens are reserved and usable after the wait."""
        n = min(n, int(self.capacity))
        granted, wait_ms = await self._script(keys=[self.key], args=[self.rate, self.capacity, n, self.max_wait_ms])
        return bool(int(granted)), int(wait_ms) / 1000.0

    async def acquire(self, n: int) -> float:
        """Wait until ``n`` tokens are ours; returns the seconds waited."""
        waited = 0.0
        while True:
            granted, wait = await self.try_acquire(n)
            if wait > 0:
                await asyncio.sleep(wait)
                waited += wait
            if granted:
                return waited
