"""Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload encryption (RFC 8291),
through pywebpush (encryption, VAPID signing, the POST over an aiohttp session).

The message's ``token`` is the subscription's endpoint (what the caller deletes on a dead
answer); ``subscription`` carries the whole ``{endpoint, keys: {p256dh, auth}}``.
"""

from __future__ import annotations

import asyncio
import os
import ssl

import aiohttp
import orjson
from py_vapid import Vapid
from pywebpush import WebPushException, webpush_async

from my_evacuation.push.providers.base import PushConfigError, PushMessage, PushResult, Status, check_batch
from my_evacuation.push.providers.classification import classify_webpush
from my_evacuation.push.providers.endpoints import EndpointNotPublic, PublicOnlyResolver, require_public

# Push services keep a message this long for an offline browser unless the message says otherwise.
DEFAULT_TTL = 24 * 3600
# Browsers' push services are many hosts; a modest bound per provider is plenty.
DEFAULT_CONCURRENCY = 50


def load_vapid(private_key: str) -> Vapid:
    """A VAPID key from a PEM file path, PEM text, or the raw base64url private key."""
    try:
        if os.path.isfile(private_key):
            return Vapid.from_file(private_key)
        if "-----BEGIN" in private_key:
            return Vapid.from_pem(private_key.strip().encode())
        return Vapid.from_string(private_key)
    except Exception as exc:  # noqa: BLE001 - py_vapid raises several types for a bad key
        raise PushConfigError(f"unusable VAPID private key: {exc}") from exc


def webpush_body(m: PushMessage) -> bytes:
    return orjson.dumps({"title": m.title, "body": m.body, "data": m.payload_data(), "critical": m.critical})


class WebPushProvider:
    name = "webpush"

    def __init__(
        self,
        *,
        vapid_private_key: str,
        subject: str,
        ca_file: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        timeout: float = 30.0,
        allow_hosts: frozenset[str] | set[str] | list[str] = frozenset(),
    ):
        self.vapid = load_vapid(vapid_private_key)
        self.subject = subject
        self._ssl = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
        self._session: aiohttp.ClientSession | None = None
        self._sem = asyncio.Semaphore(concurrency)
        self.timeout = timeout
        # Private hosts allowed anyway: only local stand-ins (tests, benchmarks).
        self.allow_hosts = frozenset(h.lower() for h in allow_hosts)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(
                ssl=self._ssl, limit=100, resolver=PublicOnlyResolver(allow_hosts=self.allow_hosts)))
        return self._session

    async def send(self, batch: list[PushMessage]) -> list[PushResult]:
        check_batch(batch)
        return list(await asyncio.gather(*(self._send_one(m) for m in batch)))

    async def _send_one(self, m: PushMessage) -> PushResult:
        sub = m.subscription or {"endpoint": m.token}
        if not sub.get("endpoint") or not isinstance(sub.get("keys"), dict):
            return PushResult(m.message_id, Status.PERMANENT, "bad_subscription", detail="missing endpoint or keys")
        try:
            # Checked again before every send (it was checked at registration): a name can
            # change what it resolves to. The connector's resolver checks once more at connect.
            await require_public(str(sub["endpoint"]), allow_hosts=self.allow_hosts, unresolved_ok=True)
        except EndpointNotPublic as exc:
            return PushResult(m.message_id, Status.PERMANENT, "endpoint_not_public", detail=str(exc))
        headers = {"Urgency": "high" if m.critical else "normal"}
        if m.collapse_key:
            headers["Topic"] = "".join(ch for ch in m.collapse_key if ch.isalnum() or ch in "-_")[:32]
        async with self._sem:
            try:
                resp = await webpush_async(
                    subscription_info=sub,
                    data=webpush_body(m).decode(),
                    vapid_private_key=self.vapid,
                    vapid_claims={"sub": self.subject},  # a new dict each time: pywebpush fills aud/exp in
                    ttl=m.ttl_seconds if m.ttl_seconds is not None else DEFAULT_TTL,
                    headers=headers,
                    timeout=self.timeout,
                    aiohttp_session=self._client(),
                )
                status = resp.status
                retry_after = resp.headers.get("Retry-After")
                location = resp.headers.get("Location")
            except WebPushException as exc:
                if exc.response is None:
                    return PushResult(m.message_id, Status.PERMANENT, "webpush_error", detail=str(exc)[:300])
                status = exc.response.status
                retry_after = exc.response.headers.get("Retry-After")
                location = None
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                return PushResult(m.message_id, Status.RETRY, "transport:connect", detail=str(exc)[:300])
            except ValueError as exc:  # bad p256dh/auth keys in the subscription
                return PushResult(m.message_id, Status.PERMANENT, "bad_subscription", detail=str(exc)[:300])
        verdict = classify_webpush(status)
        if verdict is Status.OK:
            return PushResult(m.message_id, Status.OK, provider_message_id=location)
        return PushResult(
            m.message_id,
            verdict,
            f"http_{status}",
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
            token=m.token if verdict is Status.DEAD_TOKEN else None,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
