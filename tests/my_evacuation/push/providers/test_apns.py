"""APNs provider against the local APNs-like HTTP/2 server: payload, headers, error classes."""

from __future__ import annotations

import uuid

import pytest

from my_evacuation.push.providers.apns import apns_id
from my_evacuation.push.providers.base import MESSAGE_ID_KEY, PushMessage, Status
from my_evacuation.push.providers.retry import send_with_retries
from tests.kits.push import RecordingSleep

TOKEN = "a" * 64


def msg(i, token=TOKEN, **kw) -> PushMessage:
    return PushMessage(message_id=f"a-{i}", device_id=str(i), token=token, title="緊急地震速報", body="強い揺れに警戒", **kw)


@pytest.fixture
async def apns_provider(apns):
    apns.state.accepted.clear()
    apns.state.unregistered.clear()
    apns.state.scripted.clear()
    p = apns.provider()
    yield p
    await p.aclose()


async def test_critical_alert_payload_and_headers(apns, apns_provider):
    [r] = await apns_provider.send([msg(1, critical=True, collapse_key="eew-1", data={"alert_id": "9"})])
    assert r.status is Status.OK
    [got] = apns.state.accepted
    assert got["payload"]["aps"] == {
        "alert": {"title": "緊急地震速報", "body": "強い揺れに警戒"},
        "sound": {"critical": 1, "name": "default", "volume": 1.0},
        "interruption-level": "critical",
    }
    assert got["payload"][MESSAGE_ID_KEY] == "a-1" and got["payload"]["alert_id"] == "9"
    h = got["headers"]
    assert h["apns-topic"] == "jp.fukushima.bousai"
    assert h["apns-push-type"] == "alert"
    assert h["apns-priority"] == "10"
    assert h["apns-collapse-id"] == "eew-1"
    assert h["apns-id"] == apns_id("a-1")
    uuid.UUID(h["apns-id"])  # APNs wants a canonical UUID
    assert h["authorization"].startswith("bearer ")


async def test_resend_carries_the_same_apns_id(apns, apns_provider):
    await apns_provider.send([msg(1)])
    await apns_provider.send([msg(1)])
    ids = [a["headers"]["apns-id"] for a in apns.state.accepted]
    assert ids[0] == ids[1] == apns_id("a-1")


async def test_410_unregistered_is_a_dead_token(apns, apns_provider):
    apns.state.unregistered.add("b" * 64)
    out = await send_with_retries(apns_provider, [msg(1, token="b" * 64), msg(2)], sleep=RecordingSleep())
    assert [r.status for r in out.results] == [Status.DEAD_TOKEN, Status.OK]
    assert out.results[0].error_code == "Unregistered"
    assert out.dead_tokens == ["b" * 64]


async def test_bad_device_token_is_dead(apns_provider):
    [r] = await apns_provider.send([msg(1, token="not-a-device-token")])
    assert r.status is Status.DEAD_TOKEN and r.error_code == "BadDeviceToken"
    assert r.token == "not-a-device-token"


@pytest.mark.parametrize("status,reason", [(429, "TooManyRequests"), (500, "InternalServerError"), (503, "ServiceUnavailable")])
async def test_transient_errors_are_retried_until_accepted(apns, apns_provider, status, reason):
    apns.state.scripted[TOKEN] = [(status, reason)]
    [first] = await apns_provider.send([msg(1)])
    assert first.status is Status.RETRY and first.error_code == reason
    apns.state.scripted[TOKEN] = [(status, reason)]
    out = await send_with_retries(apns_provider, [msg(2)], sleep=RecordingSleep())
    assert out.results[0].ok and out.attempts == 2


async def test_wrong_topic_is_permanent_and_keeps_the_token(apns):
    p = apns.provider(topic="jp.example.other")
    try:
        out = await send_with_retries(p, [msg(1)], sleep=RecordingSleep())
    finally:
        await p.aclose()
    assert out.results[0].status is Status.PERMANENT
    assert out.results[0].error_code == "DeviceTokenNotForTopic"
    assert out.dead_tokens == []


async def test_invalid_provider_token_is_permanent(apns):
    p = apns.provider(key_id="WRONGKEYID")
    try:
        [r] = await p.send([msg(1)])
    finally:
        await p.aclose()
    assert r.status is Status.PERMANENT and r.error_code == "InvalidProviderToken"


async def test_expired_provider_token_is_reminted_and_resent(apns, apns_provider):
    apns.state.scripted[TOKEN] = [(403, "ExpiredProviderToken")]
    [r] = await apns_provider.send([msg(1)])
    assert r.ok
