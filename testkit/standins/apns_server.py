"""A local APNs-like server (HTTP/2 + TLS): ``POST /3/device/<token>`` as Apple answers it.

Checks what APNs checks: a bearer provider token (ES256 JWT, verified against the key the
server was given, with ``kid`` and ``iss``), ``apns-topic``, a hex device token, the
payload size. Answers 200 with ``apns-id``, or ``{"reason": ...}`` with Apple's status.

Scripting, for tests: ``state.unregistered`` tokens get 410 Unregistered; tokens with a
list in ``state.scripted`` get those (status, reason) answers first, one per attempt.
"""

from __future__ import annotations

import re
import uuid

import orjson

from testkit.standins.asgi import InflightTracker, header, lifespan, read_body, respond, respond_json

_HEX = re.compile(r"^[0-9a-fA-F]{64,200}$")


class ApnsState:
    def __init__(self, *, public_key_pem: str | None, key_id: str, team_id: str, topic: str):
        self.public_key_pem = public_key_pem
        self.key_id = key_id
        self.team_id = team_id
        self.topic = topic
        self.unregistered: set[str] = set()
        self.scripted: dict[str, list[tuple[int, str]]] = {}
        self.accepted: list[dict] = []  # {"token", "headers", "payload"}
        self.inflight = InflightTracker()


def make_apns_app(state: ApnsState):
    import jwt

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await lifespan(receive, send)
        key = state.inflight.enter(scope)
        try:
            await handle(scope, receive, send)
        finally:
            state.inflight.leave(key)

    async def reject(send, status: int, reason: str, apns_id: str):
        await respond_json(send, status, {"reason": reason}, [(b"apns-id", apns_id.encode())])

    async def handle(scope, receive, send):
        body = await read_body(receive)
        path = scope["path"]
        apns_id = header(scope, b"apns-id") or str(uuid.uuid4())
        if scope["method"] != "POST":
            return await reject(send, 405, "MethodNotAllowed", apns_id)
        if not path.startswith("/3/device/"):
            return await reject(send, 404, "BadPath", apns_id)
        token = path[len("/3/device/") :]
        auth = header(scope, b"authorization") or ""
        if not auth.startswith("bearer "):
            return await reject(send, 403, "MissingProviderToken", apns_id)
        try:
            hdr = jwt.get_unverified_header(auth[7:])
            if state.public_key_pem:
                claims = jwt.decode(auth[7:], state.public_key_pem, algorithms=["ES256"])
            else:
                claims = jwt.decode(auth[7:], options={"verify_signature": False})
            if hdr.get("kid") != state.key_id or claims.get("iss") != state.team_id:
                raise jwt.InvalidTokenError("kid/iss")
        except jwt.PyJWTError:
            return await reject(send, 403, "InvalidProviderToken", apns_id)
        topic = header(scope, b"apns-topic")
        if not topic:
            return await reject(send, 400, "MissingTopic", apns_id)
        if topic != state.topic:
            return await reject(send, 400, "DeviceTokenNotForTopic", apns_id)
        if not _HEX.match(token):
            return await reject(send, 400, "BadDeviceToken", apns_id)
        if len(body) > 4096:
            return await reject(send, 413, "PayloadTooLarge", apns_id)
        try:
            payload = orjson.loads(body)
            if not isinstance(payload.get("aps"), dict):
                raise ValueError
        except (orjson.JSONDecodeError, ValueError, AttributeError):
            return await reject(send, 400, "PayloadEmpty", apns_id)
        script = state.scripted.get(token)
        if script:
            status, reason = script.pop(0)
            return await reject(send, status, reason, apns_id)
        if token in state.unregistered:
            return await respond_json(send, 410, {"reason": "Unregistered", "timestamp": 1700000000000}, [(b"apns-id", apns_id.encode())])
        state.accepted.append(
            {"token": token, "headers": {k.decode(): v.decode() for k, v in scope["headers"]}, "payload": payload}
        )
        await respond(send, 200, b"", [(b"apns-id", apns_id.encode())])

    return app
