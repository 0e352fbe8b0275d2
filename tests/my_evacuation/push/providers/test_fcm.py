"""FCM provider against the local FCM HTTP v1 server: each error class, retries, stream limits."""

from __future__ import annotations

import pytest

from my_evacuation.push.providers.base import MESSAGE_ID_KEY, PushMessage, Status, TokenType
from my_evacuation.push.providers.retry import cooldown_key, send_with_retries
from tests.kits.push import PROJECT, push_redis
from tests.kits.push import RecordingSleep


def msg(i, token=None, **kw) -> PushMessage:
    return PushMessage(
        message_id=f"m-{i}", device_id=str(i), token=token or f"tok-{i}", title="避難指示", body="今すぐ避難", **kw
    )


async def test_accepted_message_carries_notification_data_and_message_id(fcm, fcm_provider):
    [r] = await fcm_provider.send([msg(1, data={"alert_id": "42"})])
    assert r.status is Status.OK
    assert r.provider_message_id.startswith("projects/bousai-test/messages/")
    [sent] = fcm.state.messages
    assert sent["token"] == "tok-1"
    assert sent["notification"] == {"title": "避難指示", "body": "今すぐ避難"}
    assert sent["data"] == {"alert_id": "42", MESSAGE_ID_KEY: "m-1", "kind": "alert"}


async def test_critical_message_is_high_priority_and_an_apns_critical_alert(fcm, fcm_provider):
    await fcm_provider.send([msg(1, critical=True, collapse_key="eq-1", ttl_seconds=600)])
    [sent] = fcm.state.messages
    assert sent["android"]["priority"] == "high"
    assert sent["android"]["collapse_key"] == "eq-1"
    assert sent["android"]["ttl"] == "600s"
    aps = sent["apns"]["payload"]["aps"]
    assert aps["sound"] == {"critical": 1, "name": "default", "volume": 1.0}
    assert aps["interruption-level"] == "critical"


async def test_firebase_installation_id_is_sent_as_fid(fcm, fcm_provider):
    [r] = await fcm_provider.send([msg(1, token="fid-abc", token_type=TokenType.FID)])
    assert r.ok
    assert fcm.state.messages[0]["fid"] == "fid-abc"
    assert "token" not in fcm.state.messages[0]


async def test_unregistered_is_a_dead_token_reported_to_the_sink(fcm, fcm_provider):
    sunk: list[list[str]] = []
    out = await send_with_retries(
        fcm_provider, [msg(1), msg(2, token="dead-2")], dead_token_sink=sunk.append, sleep=RecordingSleep()
    )
    assert [r.status for r in out.results] == [Status.OK, Status.DEAD_TOKEN]
    assert out.results[1].error_code == "UNREGISTERED"
    assert out.dead_tokens == ["dead-2"]
    assert sunk == [["dead-2"]]
    assert fcm.state.attempts["dead-2"] == 1  # never retried


@pytest.mark.parametrize("prefix,code", [("quota-once-", "QUOTA_EXCEEDED"), ("unavailable-once-", "UNAVAILABLE"), ("internal-once-", "INTERNAL")])
async def test_transient_errors_are_retried_until_accepted(fcm, fcm_provider, prefix, code):
    [first] = await fcm_provider.send([msg(1, token=prefix + "a")])
    assert first.status is Status.RETRY and first.error_code == code
    fcm.state.attempts.clear()
    sleep = RecordingSleep()
    out = await send_with_retries(fcm_provider, [msg(2, token=prefix + "b"), msg(3)], sleep=sleep)
    assert [r.status for r in out.results] == [Status.OK, Status.OK]
    assert out.resent == 1  # only the failed message went again
    assert fcm.state.accepted["m-2"] == 1 and fcm.state.accepted["m-3"] == 1
    assert sleep.delays  # backed off before resending


async def test_quota_error_honours_retry_after_and_cools_down_every_worker(fcm, fcm_provider):
    fcm.state.faults["retry_after"] = 30
    sleep = RecordingSleep()
    async with push_redis() as redis:
        out = await send_with_retries(fcm_provider, [msg(1, token="quota-once-x")], redis=redis, sleep=sleep)
        assert out.results[0].ok
        assert max(sleep.delays) >= 30  # Retry-After respected
        assert await redis.pttl(cooldown_key("fcm")) > 0  # other workers see the cool-down


@pytest.mark.parametrize(
    "token,code", [("invalid-1", "INVALID_ARGUMENT"), ("mismatch-1", "SENDER_ID_MISMATCH")]
)
async def test_permanent_errors_are_recorded_not_retried_and_keep_the_token(fcm, fcm_provider, token, code):
    out = await send_with_retries(fcm_provider, [msg(1, token=token)], sleep=RecordingSleep())
    [r] = out.results
    assert r.status is Status.PERMANENT and r.error_code == code
    assert out.dead_tokens == []
    assert fcm.state.attempts[token] == 1


async def test_oversized_payload_is_a_permanent_invalid_argument(fcm, fcm_provider):
    big = PushMessage(message_id="m-1", device_id="1", token="tok-1", title="避難指示", body="x" * 5000)
    [r] = await fcm_provider.send([big])
    assert r.status is Status.PERMANENT and r.error_code == "INVALID_ARGUMENT"
    assert "too big" in r.detail


async def test_oversized_data_is_cut_to_its_ids_and_accepted(fcm, fcm_provider):
    [r] = await fcm_provider.send([msg(1, data={"alert_id": "42", "blob": "x" * 5000})])
    assert r.status is Status.OK


async def test_retries_give_up_after_max_attempts_with_a_retry_result(fcm, fcm_provider):
    fcm.state.faults["unavailable_fraction"] = 1.0
    out = await send_with_retries(fcm_provider, [msg(1)], max_attempts=3, sleep=RecordingSleep())
    assert out.results[0].status is Status.RETRY
    assert out.attempts == 3


async def test_expired_access_token_is_refreshed_once(fcm, fcm_provider):
    await fcm_provider.send([msg(1)])
    fcm.state.tokens.clear()
    fcm.state.tokens.add("someone-elses-token")  # the token we hold is no longer valid
    [r] = await fcm_provider.send([msg(2)])
    assert r.ok


async def test_stream_limit_and_goaway_lose_nothing_and_duplicate_nothing(tls, tmp_path):
    from tests.kits.push import FcmHarness

    h = FcmHarness(tls, tmp_path, max_streams=5, goaway_after=7)
    h.state.faults["delay_seconds"] = 0.01  # requests overlap, so the limit matters
    p = h.provider(connections=2)
    try:
        results = await p.send([msg(i) for i in range(60)])
    finally:
        await p.aclose()
        h.server.stop()
    assert [r for r in results if not r.ok] == []
    assert h.state.inflight.peak <= 5
    assert sorted(h.state.accepted) == sorted(f"m-{i}" for i in range(60))
    assert set(h.state.accepted.values()) == {1}


async def test_critical_lane_messages_overtake_ordinary_ones_waiting_for_a_stream(tls, tmp_path):
    import asyncio

    from tests.kits.push import FcmHarness

    h = FcmHarness(tls, tmp_path, max_streams=2)
    h.state.faults["delay_seconds"] = 0.02  # two streams: the rest of a batch waits in the pool
    p = h.provider(connections=1)
    try:
        ordinary = asyncio.create_task(p.send([msg(i) for i in range(60)]))
        await asyncio.sleep(0.1)  # a few ordinary ones answered, most still waiting
        before = len(h.state.messages)
        urgent = await p.send([msg(100 + i, urgent=True) for i in range(4)])
        assert not ordinary.done()
        rest = await ordinary
    finally:
        await p.aclose()
        h.server.stop()
    assert all(r.ok for r in [*urgent, *rest])
    order = [m["data"][MESSAGE_ID_KEY] for m in h.state.messages]
    first_urgent = order.index("m-100")
    assert order[first_urgent : first_urgent + 4] == [f"m-{100 + i}" for i in range(4)]
    # ahead of every ordinary one that was waiting (at most the two on the wire went first)
    assert before < 40 and first_urgent <= before + 2
    # not in the message the provider gets
    assert all("urgent" not in m and "urgent" not in m["data"] for m in h.state.messages)


async def test_batch_over_500_is_refused(fcm_provider):
    from my_evacuation.push.providers.base import BatchTooLarge

    with pytest.raises(BatchTooLarge):
        await fcm_provider.send([msg(i) for i in range(501)])


async def test_stock_firebase_admin_is_accepted_by_the_local_server(fcm, monkeypatch):
    """The local server speaks FCM for the real client: OAuth2 JWT flow, send_each_async."""
    import uuid

    import firebase_admin
    import google.auth.transport.requests as google_requests
    import requests
    from firebase_admin import messaging

    from my_evacuation.push.providers.fcm import fcm_send_url

    fcm.state.reset()
    monkeypatch.setenv("SSL_CERT_FILE", str(fcm.tls.ca_file))  # httpx's supported CA override
    cred = fcm.credential()
    app = firebase_admin.initialize_app(cred, name=f"t-{uuid.uuid4().hex[:6]}")
    try:
        session = requests.Session()
        session.trust_env = False
        session.verify = str(fcm.tls.ca_file)
        cred.get_credential().refresh(google_requests.Request(session=session))
        service = messaging._get_messaging_service(app)
        service._fcm_url = fcm_send_url("bousai-test", fcm.server.base_url)
        resp = await messaging.send_each_async(
            [
                messaging.Message(token="tok-a", data={"message_id": "s-1"}),
                messaging.Message(token="dead-b", data={"message_id": "s-2"}),
            ],
            app=app,
        )
    finally:
        # delete_app closes the service with asyncio.run(), which cannot run inside this loop:
        # close its httpx client here, then let delete_app run in a thread.
        import asyncio

        await messaging._get_messaging_service(app)._async_client.aclose()
        await asyncio.to_thread(firebase_admin.delete_app, app)
    assert resp.success_count == 1
    assert isinstance(resp.responses[1].exception, messaging.UnregisteredError)
    assert fcm.state.accepted["s-1"] == 1


def test_batch_encoder_matches_firebase_admin_encoding_for_every_message():
    from my_evacuation.push.providers.fcm import BatchEncoder, encode_request

    enc = BatchEncoder()
    msgs = [
        msg(1, critical=True, data={"alert_id": "1"}),
        msg(2, critical=True, data={"alert_id": "1"}),  # same content, other target and id
        msg(3, token='tok-"quoted"\\x', data={"alert_id": "1"}, critical=True),
        msg(4, token="fid-4", token_type=TokenType.FID),
    ]
    for m in msgs:
        assert enc.encode(m) == encode_request(m)


async def test_a_slow_answer_times_out_as_retry(fcm):
    fcm.state.reset()
    fcm.state.faults["delay_seconds"] = 2.0
    p = fcm.provider(timeout=0.3)
    try:
        [r] = await p.send([msg(1)])
    finally:
        await p.aclose()
        fcm.state.faults["delay_seconds"] = 0.0
    assert r.status is Status.RETRY and r.error_code == "transport:timeout"


async def test_benchmarks_stand_in_process_on_granian_takes_firebase_admin_and_our_sender(tmp_path):
    """The FCM stand-in as the benchmarks run it (its own process, HTTP/2 by granian): the
    token exchange over HTTP/1.1, our sender's batch with a dead token in it, the stream limit
    it announces, and its stats over the control route."""
    from firebase_admin import credentials

    from my_evacuation.push.providers.fcm import FcmProvider
    from testkit.standins.fcm_server import FcmProcess

    server = FcmProcess(tmp_path, PROJECT, ["--max-streams", "8"])
    try:
        server.reset({"delay_seconds": 0.005})  # requests overlap
        p = FcmProvider(
            credentials.Certificate(server.sa_file), PROJECT, endpoint=server.base_url, ca_file=server.ca_file, connections=1
        )
        try:
            messages = [msg(i) for i in range(199)] + [msg(199, token="dead-199")]
            results = await p.send(messages)
        finally:
            await p.aclose()
        stats = server.stats()
    finally:
        server.stop()
    assert sum(r.ok for r in results) == 199
    assert [r.status for r in results if not r.ok] == ["dead_token"]
    assert stats["accepted_unique"] == 199 and stats["duplicates"] == 0
    assert 1 < stats["peak_streams_per_connection"] <= 8
