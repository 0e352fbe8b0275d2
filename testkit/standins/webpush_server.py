"""A local Web Push endpoint (a push service, RFC 8030) over TLS, HTTP/1.1 and HTTP/2.

``POST /push/<subscription id>``: requires a VAPID ``Authorization: vapid t=<JWT>, k=<key>``
whose ES256 signature verifies with ``k`` and whose ``aud`` is this origin, and an
``aes128gcm`` body — which it decrypts with the subscription's private key (the server
made the subscription, playing the browser too). Answers 201 Created with a Location.

Scripting, for tests: ``state.gone`` ids get 410; ``state.scripted[id]`` lists statuses
to answer first, one per attempt.
"""

from __future__ import annotations

import base64
import os
import secrets

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from testkit.standins.asgi import header, lifespan, read_body, respond, respond_json


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_vapid_private_key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


class WebPushState:
    def __init__(self, origin: str = ""):
        self.origin = origin  # "https://127.0.0.1:port"; set once the port is known
        self.subscriptions: dict[str, tuple[ec.EllipticCurvePrivateKey, bytes]] = {}
        self.gone: set[str] = set()
        self.scripted: dict[str, list[int]] = {}
        self.received: list[dict] = []  # {"id", "headers", "plaintext", "vapid_claims"}

    def new_subscription(self, sub_id: str | None = None) -> dict:
        """What a browser's PushManager.subscribe() would hand the app, for this server."""
        sub_id = sub_id or secrets.token_urlsafe(12)
        key = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        self.subscriptions[sub_id] = (key, auth)
        public = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": f"{self.origin}/push/{sub_id}", "keys": {"p256dh": _b64url(public), "auth": _b64url(auth)}}


def _verify_vapid(auth: str, origin: str) -> dict:
    import jwt

    if not auth.lower().startswith("vapid "):
        raise ValueError("not a VAPID authorization")
    parts = dict(p.strip().split("=", 1) for p in auth[6:].split(","))
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64url(parts["k"]))
    return jwt.decode(parts["t"], public, algorithms=["ES256"], audience=origin)


def make_webpush_app(state: WebPushState):
    import http_ece

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await lifespan(receive, send)
        body = await read_body(receive)
        path = scope["path"]
        if scope["method"] != "POST" or not path.startswith("/push/"):
            return await respond_json(send, 404, {"error": "not found"})
        sub_id = path[len("/push/") :]
        if sub_id not in state.subscriptions or sub_id in state.gone:
            return await respond_json(send, 410 if sub_id in state.gone else 404, {"error": "subscription gone"})
        try:
            claims = _verify_vapid(header(scope, b"authorization") or "", state.origin)
        except Exception as exc:  # noqa: BLE001 - any failure is a 401 for the sender
            return await respond_json(send, 401, {"error": f"VAPID: {exc}"})
        if header(scope, b"content-encoding") != "aes128gcm":
            return await respond_json(send, 400, {"error": "content-encoding must be aes128gcm"})
        if header(scope, b"ttl") is None:
            return await respond_json(send, 400, {"error": "TTL header required"})
        key, auth = state.subscriptions[sub_id]
        try:
            plaintext = http_ece.decrypt(body, private_key=key, auth_secret=auth, version="aes128gcm")
        except Exception as exc:  # noqa: BLE001
            return await respond_json(send, 400, {"error": f"cannot decrypt: {exc}"})
        script = state.scripted.get(sub_id)
        if script:
            return await respond(send, script.pop(0), b"", [(b"retry-after", b"0")])
        state.received.append(
            {
                "id": sub_id,
                "headers": {k.decode(): v.decode() for k, v in scope["headers"]},
                "plaintext": orjson.loads(plaintext),
                "vapid_claims": claims,
            }
        )
        await respond(send, 201, b"", [(b"location", f"{state.origin}/message/{secrets.token_hex(8)}".encode())])

    return app
