"""Web Push endpoints are https to a public host, at registration and before sending (issue 12, item 6)."""

from __future__ import annotations

import pytest

from my_evacuation.push.providers.base import PushMessage, Status
from my_evacuation.push.providers.endpoints import EndpointNotPublic, PublicOnlyResolver, is_public_address, require_public
from testkit.standins.webpush_server import WebPushState, make_vapid_private_key_pem

KEYS = {"p256dh": "B" * 87, "auth": "a" * 22}

PRIVATE_ENDPOINTS = [
    "http://fcm.googleapis.com/fcm/send/abc",  # not https
    "https://127.0.0.1:8443/push",
    "https://localhost/push",
    "https://10.1.2.3/push",
    "https://192.168.0.10/push",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/push",
    "https://[::ffff:127.0.0.1]/push",
    "https://[fe80::1]/push",
    "https://100.64.0.1/push",
    "https://metadata.internal/push",
    "https://printer.local/push",
    "https://intranet/push",
    "https://" + "a" * 70 + ".example.com/push",  # a label DNS cannot carry (it was a 500)
]


@pytest.mark.parametrize("endpoint", PRIVATE_ENDPOINTS)
async def test_registration_refuses_an_endpoint_that_is_not_a_public_https_host(client, endpoint):
    r = await client.post("/v1/devices", json={"platform": "web",
                                               "webpush_subscription": {"endpoint": endpoint, "keys": KEYS}})
    assert r.status_code == 422, r.text
    assert "Web Push endpoint" in r.text


async def test_a_public_push_service_endpoint_registers(client):
    r = await client.post("/v1/devices", json={"platform": "web", "webpush_subscription": {
        "endpoint": "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk", "keys": KEYS}})
    assert r.status_code == 201, r.text


async def test_a_name_resolving_to_a_private_address_is_refused(monkeypatch):
    from my_evacuation.push.providers import endpoints

    async def loopback(host, port):
        return ["127.0.0.1"]

    monkeypatch.setattr(endpoints, "resolved_addresses", loopback)
    with pytest.raises(EndpointNotPublic):
        await require_public("https://push.attacker.example/x")


async def test_sending_checks_the_endpoint_again(monkeypatch):
    """A subscription stored before this check (or a name that now resolves privately) is never POSTed to."""
    from my_evacuation.push.providers.webpush import WebPushProvider

    provider = WebPushProvider(vapid_private_key=make_vapid_private_key_pem(), subject="mailto:test@example.jp")
    state = WebPushState()
    state.origin = "https://127.0.0.1:9"
    sub = state.new_subscription()  # a real subscription's keys ...
    sub["endpoint"] = "https://127.0.0.1:9/push/x"  # ... pointed at loopback
    try:
        [result] = await provider.send([PushMessage(message_id="m1", device_id="1", token=sub["endpoint"],
                                                    subscription=sub, title="t", body="b")])
    finally:
        await provider.aclose()
    assert result.status is Status.PERMANENT and result.error_code == "endpoint_not_public"


async def test_the_connect_time_resolver_hands_out_only_public_addresses():
    class Rebinding:
        async def resolve(self, host, port=0, family=0):
            return [{"hostname": host, "host": "10.0.0.7", "port": port, "family": 2, "proto": 0, "flags": 0}]

        async def close(self):
            pass

    with pytest.raises(OSError):
        await PublicOnlyResolver(Rebinding()).resolve("push.example.com", 443)
    assert is_public_address("142.250.196.10") and not is_public_address("::1")
