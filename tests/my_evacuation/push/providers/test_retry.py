"""send_with_retries: only retry results go again; backoff is capped and jittered."""

from __future__ import annotations

import random

from my_evacuation.push.providers.base import PushMessage, PushResult, Status
from my_evacuation.push.providers.retry import backoff_delay, send_with_retries
from tests.kits.push import RecordingSleep


class ScriptedProvider:
    """A provider whose answers per message id are scripted (the retry logic's own unit test;
    the real providers are tested against their protocol servers)."""

    name = "scripted"

    def __init__(self, script: dict[str, list[Status]]):
        self.script = script
        self.sent: list[list[str]] = []

    async def send(self, batch):
        self.sent.append([m.message_id for m in batch])
        out = []
        for m in batch:
            status = self.script[m.message_id].pop(0)
            out.append(PushResult(m.message_id, status, None if status is Status.OK else "X", token=m.token if status is Status.DEAD_TOKEN else None))
        return out

    async def aclose(self):
        return None


def msg(i):
    return PushMessage(message_id=str(i), device_id=str(i), token=f"t{i}", title="t", body="b")


async def test_only_retry_results_are_resent_and_order_is_kept():
    p = ScriptedProvider({"1": [Status.RETRY, Status.RETRY, Status.OK], "2": [Status.OK], "3": [Status.DEAD_TOKEN], "4": [Status.PERMANENT]})
    out = await send_with_retries(p, [msg(1), msg(2), msg(3), msg(4)], sleep=RecordingSleep())
    assert p.sent == [["1", "2", "3", "4"], ["1"], ["1"]]
    assert [r.message_id for r in out.results] == ["1", "2", "3", "4"]
    assert [r.status for r in out.results] == [Status.OK, Status.OK, Status.DEAD_TOKEN, Status.PERMANENT]
    assert out.dead_tokens == ["t3"] and out.resent == 2


async def test_async_dead_token_sink_is_awaited():
    got = []

    async def sink(tokens):
        got.extend(tokens)

    p = ScriptedProvider({"1": [Status.DEAD_TOKEN]})
    await send_with_retries(p, [msg(1)], dead_token_sink=sink, sleep=RecordingSleep())
    assert got == ["t1"]


def test_backoff_is_full_jitter_under_a_cap():
    rng = random.Random(7)
    for attempt in range(1, 12):
        d = backoff_delay(attempt, base=0.5, cap=30.0, rng=rng)
        assert 0 <= d <= min(30.0, 0.5 * 2 ** (attempt - 1))
