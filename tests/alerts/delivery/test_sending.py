"""Push jobs through the real FCM provider to the local FCM server: each provider error
class, dead-token pruning of exactly that token, and a job sent twice pushing once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import text

from alerts.delivery.service import fan_out
from my_evacuation.push.jobs import catch_up
from tests.kits.delivery import IWAKI, add_household, pushes, store, tsunami_doc

NOON = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


async def _fan_out_to(committed, redis_client, tokens: list[str]) -> tuple[list[int], int]:
    homes = [await add_household(committed, places={"home": IWAKI}, devices=[(t, "ja")]) for t in tokens]
    aid = await store(committed, tsunami_doc("t1", "warning"))
    await fan_out(committed, redis_client, aid, now=NOON)
    return [h.devices[0] for h in homes], aid


async def _statuses(committed) -> dict[int, tuple[str, str | None]]:
    async with committed() as s:
        rows = (await s.execute(text("SELECT device_id, status, error_code FROM push_messages"))).all()
    return {r.device_id: (r.status, r.error_code) for r in rows}


async def test_each_provider_error_class_is_recorded(committed, redis_client, fcm_sender, local_fcm):
    tokens = ["ok", "dead", "invalid", "mismatch", "quota-once", "unavailable-once", "internal-once"]
    devices, _ = await _fan_out_to(committed, redis_client, tokens)
    ids = [p["id"] for p in await pushes(committed)]
    outcome = await fcm_sender.send_job(ids)
    got = await _statuses(committed)
    by_token = {t: got[d] for t, d in zip(tokens, devices, strict=True)}
    assert by_token["ok"][0] == "ok"
    assert by_token["dead"] == ("dead_token", "UNREGISTERED")
    assert by_token["invalid"] == ("permanent", "INVALID_ARGUMENT")
    assert by_token["mismatch"] == ("permanent", "SENDER_ID_MISMATCH")
    # Retryable classes are retried inside the job and end accepted.
    for t in ("quota-once", "unavailable-once", "internal-once"):
        assert by_token[t][0] == "ok", t
    assert outcome.ok == 4 and outcome.dead_token == 1 and outcome.permanent == 2


async def test_dead_token_clears_exactly_that_token(committed, redis_client, fcm_sender):
    devices, _ = await _fan_out_to(committed, redis_client, ["dead", "ok"])
    await fcm_sender.send_job([p["id"] for p in await pushes(committed)])
    async with committed() as s:
        toks = dict((await s.execute(text("SELECT id, push_token FROM devices"))).all())
    assert toks[devices[0]] is None
    assert toks[devices[1]] is not None


async def test_a_job_delivered_twice_pushes_once(committed, redis_client, fcm_sender, local_fcm):
    await _fan_out_to(committed, redis_client, ["ok", "ok"])
    ids = [p["id"] for p in await pushes(committed)]
    await fcm_sender.send_job(ids)
    again = await fcm_sender.send_job(ids)
    assert again.claimed == 0
    stats = local_fcm.state.stats()
    assert stats["accepted_unique"] == 2 and stats["duplicates"] == 0


async def test_a_job_delivered_twice_at_once_pushes_once(committed, redis_client, fcm_sender, local_fcm):
    # A slow job and its copy republished meanwhile (catch-up, a claimed stream entry): the
    # claim's row locks last until the first job's results are recorded.
    await _fan_out_to(committed, redis_client, ["ok", "ok"])
    ids = [p["id"] for p in await pushes(committed)]
    local_fcm.state.faults["delay_seconds"] = 0.5
    first, second = await asyncio.gather(fcm_sender.send_job(ids), fcm_sender.send_job(ids))
    assert sorted((first.claimed, second.claimed)) == [0, 2]
    stats = local_fcm.state.stats()
    assert stats["accepted_unique"] == 2 and stats["duplicates"] == 0


async def test_payload_is_small_and_carries_the_alert_id(committed, redis_client, fcm_sender, local_fcm):
    _, aid = await _fan_out_to(committed, redis_client, ["ok"])
    await fcm_sender.send_job([p["id"] for p in await pushes(committed)])
    (msg,) = local_fcm.state.messages
    data = msg["message"]["data"] if "message" in msg else msg["data"]
    assert data["alert_id"] == str(aid) and data["kind"] == "new" and "message_id" in data


async def test_catch_up_republishes_only_stale_queued_rows(committed, redis_client):
    await _fan_out_to(committed, redis_client, ["ok", "ok"])
    # A 津波警報's jobs are in the critical lane, and the catch-up puts them back there.
    await redis_client.delete("push:jobs", "push:jobs:critical")  # the jobs were lost with Redis
    assert await catch_up(committed, redis_client, stale_seconds=3600) == 0
    assert await catch_up(committed, redis_client, stale_seconds=0) == 2
    assert await redis_client.xlen("push:jobs:critical") == 1
