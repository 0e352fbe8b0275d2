"""Local protocol servers for the push tests (a pytest plugin: tls, fcm, fcm_provider, apns, webpush): started here, in background threads, over TLS
with a CA made for the run; clients trust that CA explicitly."""

from __future__ import annotations

from contextlib import asynccontextmanager

import pytest
import redis.asyncio as aioredis
from firebase_admin import credentials

from tests.kits.db import TEST_REDIS_URL
from testkit.standins.apns_server import ApnsState, make_apns_app
from testkit.standins.certs import make_apns_key, make_service_account, make_tls, public_key_pem_of
from testkit.standins.fcm_server import FcmState, make_fcm_app
from testkit.standins.serving import ServerThread
from testkit.standins.webpush_server import WebPushState, make_vapid_private_key_pem, make_webpush_app

PROJECT = "bousai-test"


@pytest.fixture(scope="session")
def tls(tmp_path_factory):
    return make_tls(tmp_path_factory.mktemp("push-tls"))


class FcmHarness:
    def __init__(self, tls, tmp, *, max_streams=100, goaway_after=10**9):
        self.state = FcmState(PROJECT, seed=1)
        self.server = ServerThread(make_fcm_app(self.state), tls, max_streams=max_streams, keep_alive_max_requests=goaway_after).start()
        self.sa_file = tmp / f"sa-{self.server.port}.json"
        info = make_service_account(self.sa_file, project_id=PROJECT, token_uri=self.server.base_url + "/token")
        self.state.service_accounts[info["client_email"]] = public_key_pem_of(info["private_key"])
        self.tls = tls

    def credential(self):
        return credentials.Certificate(str(self.sa_file))

    def provider(self, **kw):
        from my_evacuation.push.providers.fcm import FcmProvider

        return FcmProvider(self.credential(), PROJECT, endpoint=self.server.base_url, ca_file=str(self.tls.ca_file), **kw)


@pytest.fixture(scope="session")
def fcm(tls, tmp_path_factory):
    h = FcmHarness(tls, tmp_path_factory.mktemp("fcm"))
    yield h
    h.server.stop()


@pytest.fixture
async def fcm_provider(fcm):
    fcm.state.reset()
    p = fcm.provider()
    yield p
    await p.aclose()


class ApnsHarness:
    KEY_ID = "ABC123DEFG"
    TEAM_ID = "TEAM123456"
    TOPIC = "jp.fukushima.bousai"

    def __init__(self, tls, tmp):
        self.key_file = tmp / "AuthKey.p8"
        pem = make_apns_key(self.key_file)
        self.state = ApnsState(public_key_pem=public_key_pem_of(pem), key_id=self.KEY_ID, team_id=self.TEAM_ID, topic=self.TOPIC)
        self.server = ServerThread(make_apns_app(self.state), tls).start()
        self.tls = tls
        self.key_pem = pem

    def provider(self, **kw):
        from my_evacuation.push.providers.apns import ApnsProvider

        args = dict(key_pem=self.key_pem, key_id=self.KEY_ID, team_id=self.TEAM_ID, topic=self.TOPIC)
        args.update(kw)
        return ApnsProvider(endpoint=self.server.base_url, ca_file=str(self.tls.ca_file), **args)


@pytest.fixture(scope="session")
def apns(tls, tmp_path_factory):
    h = ApnsHarness(tls, tmp_path_factory.mktemp("apns"))
    yield h
    h.server.stop()


class WebPushHarness:
    def __init__(self, tls):
        self.state = WebPushState()
        # aiohttp speaks HTTP/1.1: hypercorn serves this one.
        self.server = ServerThread(make_webpush_app(self.state), tls, engine="hypercorn")
        self.state.origin = self.server.base_url
        self.server.start()
        self.tls = tls
        self.vapid_pem = make_vapid_private_key_pem()

    def provider(self):
        from my_evacuation.push.providers.webpush import WebPushProvider

        # The stand-in listens on loopback, which real endpoints may never name.
        return WebPushProvider(vapid_private_key=self.vapid_pem, subject="mailto:test@example.jp",
                               ca_file=str(self.tls.ca_file), allow_hosts={"127.0.0.1"})


@pytest.fixture(scope="session")
def webpush(tls):
    h = WebPushHarness(tls)
    yield h
    h.server.stop()


@asynccontextmanager
async def push_redis():
    """A Redis client made inside the test itself (this run's Redis db), flushed around it.

    Made in the test body rather than a fixture so it is bound to the loop the test runs on."""
    r = aioredis.from_url(TEST_REDIS_URL)
    await r.flushdb()
    try:
        yield r
    finally:
        await r.flushdb()
        await r.aclose()


class RecordingSleep:
    """Stands in for asyncio.sleep so retry tests record delays instead of waiting."""

    def __init__(self):
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
