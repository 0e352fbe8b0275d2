"""Web Push provider (pywebpush) against the local push service: VAPID, encryption, error classes."""

from __future__ import annotations

from contextlib import asynccontextmanager

import pytest

from my_evacuation.push.providers.base import MESSAGE_ID_KEY, PushMessage, Status
from my_evacuation.push.providers.retry import send_with_retries
from tests.kits.push import RecordingSleep


def msg(i, sub, **kw) -> PushMessage:
    return PushMessage(
        message_id=f"w-{i}", device_id=str(i), token=sub["endpoint"], subscription=sub, title="土砂災害警戒情報", body="避難を", **kw
    )


@asynccontextmanager
async def provider_of(webpush):
    """Made and closed in the test body: aiohttp sessions are bound to the loop that runs them."""
    webpush.state.received.clear()
    p = webpush.provider()
    try:
        yield p
    finally:
        await p.aclose()


async def test_message_is_encrypted_and_vapid_signed(webpush):
    async with provider_of(webpush) as wp_provider:
        sub = webpush.state.new_subscription()
        [r] = await wp_provider.send([msg(1, sub, critical=True, data={"alert_id": "3"})])
        assert r.status is Status.OK, r
        [got] = webpush.state.received
        # The server could only read it by decrypting with the subscription's private key.
        assert got["plaintext"]["title"] == "土砂災害警戒情報"
        assert got["plaintext"]["data"][MESSAGE_ID_KEY] == "w-1"
        assert got["headers"]["authorization"].startswith("vapid t=")
        assert got["headers"]["content-encoding"] == "aes128gcm"
        assert got["headers"]["urgency"] == "high"
        assert got["vapid_claims"]["sub"] == "mailto:test@example.jp"
        assert got["vapid_claims"]["aud"] == webpush.server.base_url


@pytest.mark.parametrize("gone_status", [404, 410])
async def test_gone_subscription_is_a_dead_token(webpush, gone_status):
    async with provider_of(webpush) as wp_provider:
        sub = webpush.state.new_subscription()
        sub_id = sub["endpoint"].rsplit("/", 1)[1]
        if gone_status == 410:
            webpush.state.gone.add(sub_id)
        else:
            del webpush.state.subscriptions[sub_id]
        out = await send_with_retries(wp_provider, [msg(1, sub)], sleep=RecordingSleep())
        assert out.results[0].status is Status.DEAD_TOKEN
        assert out.dead_tokens == [sub["endpoint"]]


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_transient_statuses_are_retried_until_accepted(webpush, status):
    async with provider_of(webpush) as wp_provider:
        sub = webpush.state.new_subscription()
        webpush.state.scripted[sub["endpoint"].rsplit("/", 1)[1]] = [status]
        out = await send_with_retries(wp_provider, [msg(1, sub)], sleep=RecordingSleep())
        assert out.results[0].ok and out.attempts == 2
        assert len(webpush.state.received) == 1


async def test_payload_too_large_is_permanent(webpush):
    async with provider_of(webpush) as wp_provider:
        sub = webpush.state.new_subscription()
        webpush.state.scripted[sub["endpoint"].rsplit("/", 1)[1]] = [413]
        out = await send_with_retries(wp_provider, [msg(1, sub)], sleep=RecordingSleep())
        assert out.results[0].status is Status.PERMANENT and out.attempts == 1


async def test_subscription_without_keys_is_permanent(webpush):
    async with provider_of(webpush) as wp_provider:
        m = PushMessage(message_id="w-x", device_id="1", token="https://127.0.0.1:1/push/x", title="t", body="b")
        [r] = await wp_provider.send([m])
        assert r.status is Status.PERMANENT and r.error_code == "bad_subscription"
