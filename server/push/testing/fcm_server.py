"""A local FCM HTTP v1 server (HTTP/2 + TLS) that the real firebase-admin talks to.

Routes:
- ``POST /token``: Google's OAuth2 JWT-bearer token endpoint (the ``token_uri`` of the
  generated service account). The assertion's RS256 signature is checked against the
  service accounts the server was told about.
- ``POST /v1/projects/{project}/messages:send``: validates the request the way FCM does
  and answers with FCM's JSON (success ``{"name": ...}``, errors with
  ``google.firebase.fcm.v1.FcmError`` details).
- ``/_control/stats`` (GET), ``/_control/faults`` (POST JSON), ``/_control/reset`` (POST):
  for tests and the benchmark when the server runs in another process.

Faults, by token prefix (deterministic, for tests):
  ``dead-`` 404 UNREGISTERED; ``invalid-`` 400 INVALID_ARGUMENT; ``mismatch-`` 403
  SENDER_ID_MISMATCH; ``quota-once-`` / ``unavailable-once-`` / ``internal-once-``:
  429 / 503 / 500 on the first attempt for that token, then accepted.
Faults, at random (for the benchmark): ``quota_fraction``, ``unavailable_fraction``,
``internal_fraction``, plus ``delay_seconds`` before answering and ``retry_after``.
The announced SETTINGS_MAX_CONCURRENT_STREAMS and a GOAWAY after N requests per connection
are server start options.

Accepted messages are counted by ``message.data["message_id"]`` so a caller can tell lost
from duplicated deliveries.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import random
import secrets
import time
import urllib.parse

import orjson

from server.push.testing.asgi import InflightTracker, header, lifespan, read_body, respond_json

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
# FCM refuses messages whose payload passes 4096 bytes (the documented data/notification limit).
MAX_PAYLOAD_BYTES = 4096
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"

_ERRORS = {
    # errorCode: (HTTP status, google.rpc status, message) as FCM sends them
    "UNREGISTERED": (404, "NOT_FOUND", "Requested entity was not found."),
    "INVALID_ARGUMENT": (400, "INVALID_ARGUMENT", "Request contains an invalid argument."),
    "SENDER_ID_MISMATCH": (403, "PERMISSION_DENIED", "SenderId mismatch"),
    "QUOTA_EXCEEDED": (429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Send requests'."),
    "UNAVAILABLE": (503, "UNAVAILABLE", "The service is currently unavailable."),
    "INTERNAL": (500, "INTERNAL", "Internal error encountered."),
}


def fcm_error_body(code: str, message: str | None = None) -> tuple[int, dict]:
    status, rpc_status, default_message = _ERRORS[code]
    return status, {
        "error": {
            "code": status,
            "message": message or default_message,
            "status": rpc_status,
            "details": [{"@type": FCM_ERROR_TYPE, "errorCode": code}],
        }
    }


class FcmState:
    def __init__(self, project_id: str = "bousai-local", *, keep_messages: int = 10_000, seed: int | None = None):
        self.project_id = project_id
        self.keep_messages = keep_messages
        self.service_accounts: dict[str, str] = {}  # client_email -> public key PEM
        self.tokens: set[str] = set()
        self.rng = random.Random(seed)
        self.inflight = InflightTracker()
        self.reset()

    def reset(self) -> None:
        self.faults = {
            "quota_fraction": 0.0,
            "unavailable_fraction": 0.0,
            "internal_fraction": 0.0,
            "delay_seconds": 0.0,
            "retry_after": 1,
        }
        self.accepted: collections.Counter[str] = collections.Counter()
        self.messages: list[dict] = []
        self.statuses: collections.Counter[int] = collections.Counter()
        self.errors: collections.Counter[str] = collections.Counter()
        self.attempts: collections.Counter[str] = collections.Counter()
        self.requests = 0
        self.inflight.peak = 0
        self.cpu0 = time.process_time()

    def stats(self, *, with_ids: bool = True) -> dict:
        out = {
            "requests": self.requests,
            "accepted_total": sum(self.accepted.values()),
            "accepted_unique": len(self.accepted),
            "duplicates": sum(n - 1 for n in self.accepted.values() if n > 1),
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "errors": dict(self.errors),
            "peak_streams_per_connection": self.inflight.peak,
            "cpu_seconds": round(time.process_time() - self.cpu0, 3),
            "faults": self.faults,
        }
        if with_ids:
            out["accepted"] = dict(self.accepted)
        return out


def _validate(message, body_len: int) -> str | None:
    """FCM's checks that matter here; returns the INVALID_ARGUMENT message or None."""
    if not isinstance(message, dict):
        return "Invalid JSON payload received. 'message' must be an object."
    targets = [k for k in ("token", "fid", "topic", "condition") if message.get(k)]
    if len(targets) != 1:
        return "Exactly one of token, fid, topic or condition must be specified."
    data = message.get("data", {})
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        return "Invalid value at 'message.data': values must be strings."
    target = message.get(targets[0])
    # The request minus the target and the envelope, as FCM counts it (close enough).
    if body_len - len(str(target)) - 20 > MAX_PAYLOAD_BYTES:
        return "Message is too big"
    return None


def make_fcm_app(state: FcmState):
    send_prefix = "/v1/projects/"
    send_suffix = "/messages:send"

    async def token_endpoint(scope, receive, send):
        form = urllib.parse.parse_qs((await read_body(receive)).decode())
        if form.get("grant_type", [""])[0] != JWT_BEARER or not form.get("assertion"):
            return await respond_json(send, 400, {"error": "unsupported_grant_type"})
        assertion = form["assertion"][0]
        if state.service_accounts:
            import jwt

            try:
                claims = jwt.decode(assertion, options={"verify_signature": False})
                public_key = state.service_accounts.get(claims.get("iss", ""))
                if public_key is None:
                    raise jwt.InvalidTokenError("unknown service account")
                jwt.decode(assertion, public_key, algorithms=["RS256"], audience=claims.get("aud"))
            except jwt.PyJWTError as exc:
                return await respond_json(send, 400, {"error": "invalid_grant", "error_description": str(exc)})
        token = "ya29.local-" + secrets.token_urlsafe(24)
        state.tokens.add(token)
        return await respond_json(send, 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"})

    async def send_message(scope, receive, send, project: str):
        body = await read_body(receive)
        auth = header(scope, b"authorization") or ""
        if state.tokens and auth.removeprefix("Bearer ") not in state.tokens:
            state.statuses[401] += 1
            return await respond_json(
                send,
                401,
                {"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}},
            )
        if project != state.project_id:
            return await respond_json(send, 404, {"error": {"code": 404, "message": "Project not found", "status": "NOT_FOUND"}})
        try:
            req = orjson.loads(body)
            message = req["message"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return await _error(send, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        problem = _validate(message, len(body))
        if problem:
            return await _error(send, "INVALID_ARGUMENT", problem)
        faults = state.faults
        if faults["delay_seconds"]:
            await asyncio.sleep(faults["delay_seconds"])
        token = message.get("token") or message.get("fid") or ""
        state.attempts[token] += 1
        if token.startswith("dead-"):
            return await _error(send, "UNREGISTERED")
        if token.startswith("invalid-"):
            return await _error(send, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token")
        if token.startswith("mismatch-"):
            return await _error(send, "SENDER_ID_MISMATCH")
        for prefix, code in (("quota-once-", "QUOTA_EXCEEDED"), ("unavailable-once-", "UNAVAILABLE"), ("internal-once-", "INTERNAL")):
            if token.startswith(prefix) and state.attempts[token] == 1:
                return await _error(send, code)
        roll = state.rng.random()
        if roll < faults["quota_fraction"]:
            return await _error(send, "QUOTA_EXCEEDED")
        roll -= faults["quota_fraction"]
        if roll < faults["unavailable_fraction"]:
            return await _error(send, "UNAVAILABLE")
        roll -= faults["unavailable_fraction"]
        if roll < faults["internal_fraction"]:
            return await _error(send, "INTERNAL")
        name = f"projects/{project}/messages/{secrets.token_hex(8)}"
        if req.get("validate_only"):
            return await respond_json(send, 200, {"name": f"projects/{project}/messages/fake_message_id"})
        mid = (message.get("data") or {}).get("message_id") or name
        state.accepted[mid] += 1
        if len(state.messages) < state.keep_messages:
            state.messages.append(message)
        state.statuses[200] += 1
        return await respond_json(send, 200, {"name": name})

    async def _error(send, code: str, message: str | None = None):
        status, body = fcm_error_body(code, message)
        state.statuses[status] += 1
        state.errors[code] += 1
        headers = [(b"retry-after", str(state.faults["retry_after"]).encode())] if status in (429, 503) else None
        return await respond_json(send, status, body, headers)

    async def control(scope, receive, send, path: str):
        if path == "/_control/stats":
            qs = urllib.parse.parse_qs(scope.get("query_string", b"").decode())
            return await respond_json(send, 200, state.stats(with_ids=qs.get("ids", ["1"])[0] != "0"))
        body = await read_body(receive)
        if path == "/_control/faults":
            state.faults.update(orjson.loads(body or b"{}"))
            return await respond_json(send, 200, state.faults)
        if path == "/_control/reset":
            state.reset()
            return await respond_json(send, 200, {"ok": True})
        if path == "/_control/service_account":
            info = orjson.loads(body)
            state.service_accounts[info["client_email"]] = info["public_key_pem"]
            return await respond_json(send, 200, {"ok": True})
        return await respond_json(send, 404, {"error": "no such control"})

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await lifespan(receive, send)
        path = scope["path"]
        state.requests += 1
        key = state.inflight.enter(scope)
        try:
            if scope["method"] == "POST" and path.startswith(send_prefix) and path.endswith(send_suffix):
                return await send_message(scope, receive, send, path[len(send_prefix) : -len(send_suffix)])
            if scope["method"] == "POST" and path == "/token":
                return await token_endpoint(scope, receive, send)
            if path.startswith("/_control/"):
                return await control(scope, receive, send, path)
            return await respond_json(send, 404, {"error": {"code": 404, "message": "Not Found", "status": "NOT_FOUND"}})
        finally:
            state.inflight.leave(key)

    return app


def main(argv: list[str] | None = None) -> None:
    from hypercorn.asyncio import serve

    from server.push.testing.serving import hypercorn_config, orphan_watch, run_h2, tls_from_dir

    p = argparse.ArgumentParser(description="local FCM HTTP v1 server")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--tls-dir", required=True)
    p.add_argument("--project", default="bousai-local")
    p.add_argument("--max-streams", type=int, default=100)
    p.add_argument("--goaway-after", type=int, default=None, help="requests per connection before GOAWAY")
    p.add_argument("--engine", choices=("h2", "hypercorn"), default="h2")
    args = p.parse_args(argv)
    state = FcmState(args.project)
    tls = tls_from_dir(args.tls_dir)
    try:
        import uvloop  # noqa: F401  (uvicorn[standard] brings it; the server is the load target)

        uvloop.install()
    except ImportError:
        pass
    app = make_fcm_app(state)
    if args.engine == "h2":
        asyncio.run(run_h2(app, args.port, tls, args.max_streams, args.goaway_after, orphan_watch))
    else:
        config = hypercorn_config(
            args.port, tls, max_streams=args.max_streams, keep_alive_max_requests=args.goaway_after or 10**9
        )
        asyncio.run(serve(app, config, shutdown_trigger=orphan_watch))


if __name__ == "__main__":
    main()
