"""The Redis token bucket is one budget for every worker using the same key."""

from __future__ import annotations

import pytest

from my_evacuation.push.providers.ratelimit import RedisTokenBucket
from tests.kits.push import push_redis


async def test_two_workers_share_one_bucket():
    async with push_redis() as redis:
        # 600/min = 10/s; the bucket holds at least one batch of 500.
        worker_a = RedisTokenBucket(redis, "fcm", rate_per_minute=600, max_wait_seconds=30)
        worker_b = RedisTokenBucket(redis, "fcm", rate_per_minute=600, max_wait_seconds=30)
        granted_a, wait_a = await worker_a.try_acquire(300)
        granted_b, wait_b = await worker_b.try_acquire(300)
        assert granted_a and wait_a == 0
        # Only ~200 tokens were left: B's reservation waits for ~100 more at 10/s.
        assert granted_b and 5 < wait_b <= 11


async def test_reservation_beyond_max_wait_is_refused_untaken():
    async with push_redis() as redis:
        a = RedisTokenBucket(redis, "apns", rate_per_minute=600, max_wait_seconds=5)
        assert (await a.try_acquire(500))[0]
        granted, wait = await a.try_acquire(500)  # would need ~50 s
        assert not granted and wait > 5
        granted_small, _ = await a.try_acquire(10)  # the refused one took nothing
        assert granted_small


async def test_separate_keys_are_separate_budgets():
    async with push_redis() as redis:
        fcm = RedisTokenBucket(redis, "fcm", rate_per_minute=600)
        web = RedisTokenBucket(redis, "webpush", rate_per_minute=600)
        assert (await fcm.try_acquire(500)) == (True, 0.0)
        assert (await web.try_acquire(500)) == (True, 0.0)


def test_rate_must_be_positive():
    with pytest.raises(ValueError):
        RedisTokenBucket(None, "x", rate_per_minute=0)
