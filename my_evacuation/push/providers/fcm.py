"""FCM through firebase-admin: its credentials and message encoding, our HTTP/2 sending.

Why not ``messaging.send_each_async`` as is: it ``asyncio.gather``s all 500 requests of a
batch at once on one httpx client, retries only 500/503 (not 429, not HTTP/2 stream
refusals or GOAWAY), and builds an auth flow per request; measured against the local
FCM server (``bousai bench push``) it does a few hundred messages a second. This provider
keeps what firebase-admin is good at and replaces the transport:

- messages are built as ``messaging.Message`` and encoded by firebase-admin's own encoder
  (``_MessagingService.encode_message``: same validation, same JSON as the stock path);
- the OAuth2 access token comes from the firebase-admin credential (service-account file
  or application default credentials), refreshed off the event loop and shared by all
  requests;
- requests go over a small pool of HTTP/2 connections (``h2.H2Pool``), each limited to
  ``max_streams`` concurrent streams (FCM announces 100), so nothing waits on a refused
  stream. A batch is handed to the pool whole and each answer becomes a result as it
  arrives (``_FcmBatch``): no task or future per message. Stream refusals, GOAWAY and
  connect errors are resent at once (they were not processed), a 401 refreshes the token
  and resends once, everything else is classified (``classification.py``) and handed to
  ``retry.send_with_retries``.

Targets: a registration token goes out as ``message.token``; a Firebase installation id
as ``message.fid`` (firebase-admin ≥ 7 encodes it; FCM v1 accepts either).
"""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
from urllib.parse import urlsplit

import orjson
from firebase_admin import messaging

from my_evacuation.push.providers.base import PushMessage, PushResult, Status, TokenType, check_batch
from my_evacuation.push.providers.classification import TRANSPORT_ERRORS, classify_fcm
from my_evacuation.push.providers.h2 import H2Pool, Request, Response, Unprocessed

FCM_SEND_URL = "https://fcm.googleapis.com/v1/projects/{project}/messages:send"
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
# FCM allows 100 concurrent streams per HTTP/2 connection.
DEFAULT_MAX_STREAMS = 100
# Two connections keep a batch of 500 flowing while one is slow or being replaced after GOAWAY.
DEFAULT_CONNECTIONS = 2
# Resends, inside one send(), of requests the server never processed (refused stream, GOAWAY).
UNPROCESSED_RESENDS = 10
# Refresh the access token this long before it expires (Google's tokens live an hour).
TOKEN_REFRESH_MARGIN = 300


def fcm_send_url(project_id: str, endpoint: str | None = None) -> str:
    """``endpoint`` (settings.fcm_endpoint) is a base URL (``https://127.0.0.1:8443``) or a
    full URL with ``{project}``; None means Google's."""
    if not endpoint:
        return FCM_SEND_URL.format(project=project_id)
    if "{project}" in endpoint:
        return endpoint.format(project=project_id)
    return endpoint.rstrip("/") + f"/v1/projects/{project_id}/messages:send"


def to_fcm_message(m: PushMessage) -> messaging.Message:
    """A PushMessage as firebase-admin's Message: notification + small data map; critical
    messages go out at high priority and as APNs critical alerts for iOS devices on FCM."""
    aps = (
        messaging.Aps(
            sound=messaging.CriticalSound("default", critical=True, volume=1.0),
            custom_data={"interruption-level": "critical"},
        )
        if m.critical
        else messaging.Aps(sound="default")
    )
    apns_headers = {"apns-priority": "10" if m.critical else "5"}
    if m.collapse_key:
        apns_headers["apns-collapse-id"] = m.collapse_key[:64]
    message = messaging.Message(
        data=m.payload_data(),
        notification=messaging.Notification(title=m.title, body=m.body),
        android=messaging.AndroidConfig(
            priority="high" if m.critical else "normal",
            collapse_key=m.collapse_key,
            ttl=m.ttl_seconds,
            notification=messaging.AndroidNotification(channel_id="critical" if m.critical else "default"),
        ),
        apns=messaging.APNSConfig(headers=apns_headers, payload=messaging.APNSPayload(aps=aps)),
        fid=m.token if m.token_type is TokenType.FID else None,
    )
    if m.token_type is not TokenType.FID:
        # Set after construction: firebase-admin 7 warns on every Message(token=...) (it
        # prefers FIDs), but registration tokens are what Android apps hand us.
        message.token = m.token
    return message


def encode_request(m: PushMessage) -> bytes:
    """The HTTP v1 request body, encoded by firebase-admin's own encoder."""
    return orjson.dumps({"message": messaging._MessagingService.encode_message(to_fcm_message(m))})


_TOKEN_SLOT = "bousai-token-slot-7f3a"
_ID_SLOT = "bousai-message-id-slot-7f3a"


class BatchEncoder:
    """Encodes a batch, running firebase-admin's encoder once per distinct content.

    A fan-out batch is one alert for many devices: the bodies differ only in the target and
    the message id. The first message of each content is encoded with placeholders in those
    two places (so firebase-admin validates and shapes it exactly as for the stock path),
    and the rest are made by replacing the placeholders with the JSON-escaped values.
    """

    def __init__(self) -> None:
        self._templates: dict[tuple, bytes] = {}

    @staticmethod
    def _content_key(m: PushMessage) -> tuple:
        return (
            m.title, m.body, m.kind, tuple(sorted(m.data.items())), m.critical,
            m.collapse_key, m.ttl_seconds, m.language, m.token_type,
        )

    def encode(self, m: PushMessage) -> bytes:
        key = self._content_key(m)
        template = self._templates.get(key)
        if template is None:
            if any(_TOKEN_SLOT in str(v) or _ID_SLOT in str(v) for v in key):
                return encode_request(m)  # content that contains a slot marker: no template
            template = encode_request(dataclasses.replace(m, token=_TOKEN_SLOT, message_id=_ID_SLOT))
            self._templates[key] = template
        if not m.token:
            return encode_request(m)  # let firebase-admin reject it with its own message
        return template.replace(_TOKEN_SLOT.encode(), orjson.dumps(m.token)[1:-1]).replace(
            _ID_SLOT.encode(), orjson.dumps(m.message_id)[1:-1]
        )


def parse_fcm_error(status: int, content: bytes) -> tuple[str | None, str]:
    """(FcmError errorCode or google.rpc status, message) from an FCM error body."""
    try:
        err = orjson.loads(content)["error"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None, content[:200].decode("utf-8", "replace")
    for detail in err.get("details") or []:
        if detail.get("@type") == FCM_ERROR_TYPE and detail.get("errorCode"):
            return detail["errorCode"], err.get("message", "")
    return err.get("status"), err.get("message", "")


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare from FCM; the backoff covers it


class AccessTokenSource:
    """The firebase-admin credential's OAuth2 token, refreshed in a thread when near expiry."""

    def __init__(self, credential, *, ca_file: str | None = None):
        import google.auth.transport.requests as google_requests
        import requests

        self._credential = credential  # a google.auth credential (firebase_admin Credential.get_credential())
        session = requests.Session()
        if ca_file:
            # requests lets REQUESTS_CA_BUNDLE override a session's verify unless trust_env is off.
            session.trust_env = False
            session.verify = ca_file
        self._request = google_requests.Request(session=session)
        self._lock = asyncio.Lock()

    def _fresh(self) -> bool:
        c = self._credential
        if not c.token or c.expiry is None:
            return bool(c.token) and c.expiry is None and c.valid
        from datetime import datetime

        return (c.expiry - datetime.utcnow()).total_seconds() > TOKEN_REFRESH_MARGIN

    async def token(self, *, force: bool = False) -> str:
        if not force and self._fresh():
            return self._credential.token
        async with self._lock:
            if force or not self._fresh():
                await asyncio.to_thread(self._credential.refresh, self._request)
            return self._credential.token


class _FcmBatch:
    """One ``FcmProvider.send``: its requests, their results, and the one future it waits on."""

    __slots__ = ("provider", "results", "left", "done", "unauthorized", "refreshed", "_on_done")

    def __init__(self, provider: FcmProvider, batch: list[PushMessage], token: str):
        self.provider = provider
        self.results: list[PushResult] = [None] * len(batch)  # type: ignore[list-item]
        self.unauthorized: list[Request] = []
        self.refreshed = False
        self.done: asyncio.Future | None = None
        self._on_done = self.on_done
        encoder = BatchEncoder()
        headers = provider._headers_for(token)
        requests = []
        for i, m in enumerate(batch):
            try:
                body = encoder.encode(m)
            except (ValueError, TypeError) as exc:  # firebase-admin's validation: our message is bad
                self.results[i] = PushResult(m.message_id, Status.PERMANENT, "INVALID_ARGUMENT", detail=str(exc)[:300])
                continue
            # The critical lane's messages overtake ordinary ones waiting for a stream (an EEW's
            # batch sent while an advisory's thousands are queued on the same connections).
            r = Request([*headers, (b"content-length", str(len(body)).encode())], body, self._on_done, [i, m, 0], m.urgent)
            requests.append(r)
        self.left = len(requests)
        provider._pool.submit(requests)

    async def wait(self) -> None:
        if self.left:
            self.done = asyncio.get_running_loop().create_future()
            await self.done

    def resend_with(self, token: str) -> None:
        self.refreshed = True
        headers = self.provider._headers_for(token)
        requests, self.unauthorized = self.unauthorized, []
        for r in requests:
            r.headers = [*headers, r.headers[-1]]  # content-length stays
        self.left = len(requests)
        self.provider._pool.submit(requests)

    def _final(self, i: int, result: PushResult) -> None:
        self.results[i] = result
        self._one_less()

    def _one_less(self) -> None:
        self.left -= 1
        if self.left == 0 and self.done is not None and not self.done.done():
            self.done.set_result(None)

    def on_done(self, r: Request, out) -> None:
        i, m, resends = r.tag
        if out.__class__ is Response:
            status = out.status
            if status == 200:
                try:
                    name = orjson.loads(out.content).get("name")
                except orjson.JSONDecodeError:
                    name = None
                return self._final(i, PushResult(m.message_id, Status.OK, provider_message_id=name))
            if status == 401 and not self.refreshed:
                self.unauthorized.append(r)
                return self._one_less()
            code, message = parse_fcm_error(status, out.content)
            st = classify_fcm(status, code)
            return self._final(
                i,
                PushResult(
                    m.message_id,
                    st,
                    code or f"http_{status}",
                    retry_after=_retry_after(out.headers.get("retry-after")),
                    detail=message[:300],
                    token=m.token if st is Status.DEAD_TOKEN else None,
                ),
            )
        if isinstance(out, Unprocessed):  # refused stream, GOAWAY, connection gone before sending
            if resends < UNPROCESSED_RESENDS:
                r.tag[2] = resends + 1
                self.provider._pool.submit((r,))
                return
            text = str(out)
            code = "goaway" if "GOAWAY" in text else "stream_refused" if "refused" in text else "connect"
            return self._final(i, PushResult(m.message_id, TRANSPORT_ERRORS[code][0], f"transport:{code}", detail=text[:300]))
        code = "timeout" if isinstance(out, asyncio.TimeoutError) else "protocol"
        return self._final(i, PushResult(m.message_id, TRANSPORT_ERRORS[code][0], f"transport:{code}", detail=str(out)[:300]))


class FcmProvider:
    name = "fcm"

    def __init__(
        self,
        credential,
        project_id: str,
        *,
        endpoint: str | None = None,
        ca_file: str | None = None,
        max_streams: int = DEFAULT_MAX_STREAMS,
        connections: int = DEFAULT_CONNECTIONS,
        timeout: float = 30.0,
    ):
        """``credential``: a firebase-admin ``Credential`` (``credentials.Certificate`` /
        ``ApplicationDefault``) or a google.auth credential."""
        google_cred = credential.get_credential() if hasattr(credential, "get_credential") else credential
        self.project_id = project_id
        self.url = fcm_send_url(project_id, endpoint)
        self.max_streams = max(1, min(max_streams, DEFAULT_MAX_STREAMS))
        self._tokens = AccessTokenSource(google_cred, ca_file=ca_file)
        ctx = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
        u = urlsplit(self.url)
        self.path = u.path
        self._pool = H2Pool(
            f"{u.scheme}://{u.netloc}", ssl_context=ctx, connections=connections, max_streams=self.max_streams, timeout=timeout
        )
        self._headers = [
            (b"content-type", b"application/json; UTF-8"),
            (b"x-goog-api-format-version", b"2"),
        ]
        self._headers_token: str | None = None
        self._headers_cached: list[tuple[bytes, bytes]] = []

    async def send(self, batch: list[PushMessage]) -> list[PushResult]:
        """The whole batch goes to the connection pool's queue at once; answers are turned into
        results as they arrive (``_FcmBatch``), and this coroutine wakes once, when the last
        one is in."""
        check_batch(batch)
        token = await self._tokens.token()
        run = _FcmBatch(self, batch, token)
        while True:
            await run.wait()
            if not run.unauthorized:
                return run.results
            # 401: our access token was revoked or expired early. Refresh it once and send
            # those messages again, once each.
            token = await self._tokens.token(force=True)
            run.resend_with(token)

    def _headers_for(self, token: str) -> list[tuple[bytes, bytes]]:
        # Built once per access token and shared by every request: the full header list but
        # content-length.
        if self._headers_token != token:
            self._headers_token = token
            self._headers_cached = self._pool.headers(
                "POST", self.path, [*self._headers, (b"authorization", f"Bearer {token}".encode())]
            )
        return self._headers_cached

    async def aclose(self) -> None:
        await self._pool.aclose()
