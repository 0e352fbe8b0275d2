"""APNs, direct, for iOS: HTTP/2 with token-based (JWT, ES256) authentication.

Critical alerts (sound through silent mode and Focus) go out with
``"aps": {"sound": {"critical": 1, "name": "default", "volume": 1.0},
"interruption-level": "critical"}`` — they need Apple's critical-alerts entitlement on
the app. The transport is the same small HTTP/2 client as FCM's (``h2.py``): APNs asks
for few long-lived connections with many concurrent streams, which is what it does.
aioapns would work against Apple but fixes its host names, so a local protocol server
could not stand in for Apple in tests.

``apns-id`` is derived from our message_id (uuid5), so a resend carries the same id.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import uuid
from urllib.parse import quote

import jwt
import orjson

from my_evacuation.push.providers.base import PushMessage, PushResult, Status, check_batch
from my_evacuation.push.providers.classification import TRANSPORT_ERRORS, classify_apns
from my_evacuation.push.providers.h2 import H2Pool, StreamFailed, Unprocessed

APNS_PRODUCTION = "https://api.push.apple.com"
APNS_SANDBOX = "https://api.sandbox.push.apple.com"
# Apple refuses provider tokens older than an hour and throttles minting more often than
# every 20 minutes; 50 minutes sits between.
JWT_LIFETIME = 50 * 60
# APNs payload limit for regular notifications.
MAX_PAYLOAD_BYTES = 4096
APNS_ID_NAMESPACE = uuid.UUID("2f1c7a3e-6b0e-4d53-9a43-0b5f2c1e9d17")
UNPROCESSED_RESENDS = 10


def apns_payload(m: PushMessage) -> dict:
    aps: dict = {"alert": {"title": m.title, "body": m.body}}
    if m.critical:
        aps["sound"] = {"critical": 1, "name": "default", "volume": 1.0}
        aps["interruption-level"] = "critical"
    else:
        aps["sound"] = "default"
        aps["interruption-level"] = "time-sensitive" if m.kind == "alert" else "active"
    return {"aps": aps, **m.payload_data()}


def apns_id(message_id: str) -> str:
    return str(uuid.uuid5(APNS_ID_NAMESPACE, message_id))


class ApnsProvider:
    name = "apns"

    def __init__(
        self,
        *,
        key_pem: str,
        key_id: str,
        team_id: str,
        topic: str,
        endpoint: str | None = None,
        ca_file: str | None = None,
        connections: int = 1,
        max_streams: int = 100,
        timeout: float = 30.0,
    ):
        self.key_pem = key_pem
        self.key_id = key_id
        self.team_id = team_id
        self.topic = topic
        ctx = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
        self._pool = H2Pool(endpoint or APNS_PRODUCTION, ssl_context=ctx, connections=connections, max_streams=max_streams, timeout=timeout)
        self._jwt: str | None = None
        self._jwt_at = 0.0

    def provider_token(self, *, force: bool = False) -> str:
        now = time.time()
        if force or self._jwt is None or now - self._jwt_at > JWT_LIFETIME:
            self._jwt = jwt.encode({"iss": self.team_id, "iat": int(now)}, self.key_pem, algorithm="ES256", headers={"kid": self.key_id})
            self._jwt_at = now
        return self._jwt

    def _headers(self, m: PushMessage) -> list[tuple[str, str]]:
        h = [
            ("authorization", f"bearer {self.provider_token()}"),
            ("apns-topic", self.topic),
            ("apns-push-type", "alert"),
            # 10 = immediately; 5 = power-considerate. Anything not life-critical can wait a little.
            ("apns-priority", "10" if m.critical or m.kind == "alert" else "5"),
            ("apns-id", apns_id(m.message_id)),
            ("content-type", "application/json"),
        ]
        if m.ttl_seconds is not None:
            h.append(("apns-expiration", str(int(time.time()) + m.ttl_seconds)))
        if m.collapse_key:
            h.append(("apns-collapse-id", m.collapse_key[:64]))
        return h

    async def send(self, batch: list[PushMessage]) -> list[PushResult]:
        check_batch(batch)
        return list(await asyncio.gather(*(self._send_one(m) for m in batch)))

    async def _send_one(self, m: PushMessage) -> PushResult:
        body = orjson.dumps(apns_payload(m))
        if len(body) > MAX_PAYLOAD_BYTES:
            return PushResult(m.message_id, Status.PERMANENT, "PayloadTooLarge", detail=f"{len(body)} bytes")
        path = "/3/device/" + quote(m.token, safe="")
        resends = 0
        reminted = False
        while True:
            try:
                resp = await self._pool.request("POST", path, self._headers(m), body, urgent=m.urgent)
            except Unprocessed as exc:
                if resends < UNPROCESSED_RESENDS:
                    resends += 1
                    continue
                return PushResult(m.message_id, Status.RETRY, "transport:stream_refused", detail=str(exc)[:300])
            except (StreamFailed, asyncio.TimeoutError, OSError) as exc:
                code = "timeout" if isinstance(exc, asyncio.TimeoutError) else "protocol"
                return PushResult(m.message_id, TRANSPORT_ERRORS[code][0], f"transport:{code}", detail=str(exc)[:300])
            if resp.status == 200:
                return PushResult(m.message_id, Status.OK, provider_message_id=resp.headers.get("apns-id"))
            try:
                reason = orjson.loads(resp.content).get("reason")
            except (orjson.JSONDecodeError, AttributeError):
                reason = None
            if reason == "ExpiredProviderToken" and not reminted:
                reminted = True
                self.provider_token(force=True)
                continue
            status = classify_apns(resp.status, reason)
            retry_after = resp.headers.get("retry-after")
            return PushResult(
                m.message_id,
                status,
                reason or f"http_{resp.status}",
                provider_message_id=resp.headers.get("apns-id"),
                retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
                token=m.token if status is Status.DEAD_TOKEN else None,
            )

    async def aclose(self) -> None:
        await self._pool.aclose()
