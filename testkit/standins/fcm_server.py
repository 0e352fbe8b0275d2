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
import itertools
import random
import secrets
import time
import urllib.parse
from pathlib import Path

import orjson

from testkit.standins.asgi import InflightTracker, header, lifespan, read_body, respond, respond_json

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

    unauthenticated = orjson.dumps(
        {"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}}
    )
    no_project = orjson.dumps({"error": {"code": 404, "message": "Project not found", "status": "NOT_FOUND"}})
    json_headers = [(b"content-type", b"application/json; charset=UTF-8")]
    # Message names are unique per server run: a random prefix and a counter (cheaper than
    # fresh random bytes per message, which were a few percent of the server's CPU).
    name_prefix = secrets.token_hex(4)
    counter = itertools.count()

    def check_send(auth: str | None, project: str, body: bytes):
        """The checks before any fault: (status, headers, body) to answer, or the parsed
        (request, message) to go on with."""
        if state.tokens and (auth or "").removeprefix("Bearer ") not in state.tokens:
            state.statuses[401] += 1
            return 401, json_headers, unauthenticated
        if project != state.project_id:
            return 404, json_headers, no_project
        try:
            req = orjson.loads(body)
            message = req["message"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return _error("INVALID_ARGUMENT", "Invalid JSON payload received.")
        problem = _validate(message, len(body))
        if problem:
            return _error("INVALID_ARGUMENT", problem)
        return req, message

    def decide(project: str, req: dict, message: dict):
        """Faults, then acceptance: (status, headers, body)."""
        faults = state.faults
        token = message.get("token") or message.get("fid") or ""
        state.attempts[token] += 1
        if token.startswith("dead-"):
            return _error("UNREGISTERED")
        if token.startswith("invalid-"):
            return _error("INVALID_ARGUMENT", "The registration token is not a valid FCM registration token")
        if token.startswith("mismatch-"):
            return _error("SENDER_ID_MISMATCH")
        for prefix, code in (("quota-once-", "QUOTA_EXCEEDED"), ("unavailable-once-", "UNAVAILABLE"), ("internal-once-", "INTERNAL")):
            if token.startswith(prefix) and state.attempts[token] == 1:
                return _error(code)
        roll = state.rng.random()
        if roll < faults["quota_fraction"]:
            return _error("QUOTA_EXCEEDED")
        roll -= faults["quota_fraction"]
        if roll < faults["unavailable_fraction"]:
            return _error("UNAVAILABLE")
        roll -= faults["unavailable_fraction"]
        if roll < faults["internal_fraction"]:
            return _error("INTERNAL")
        if req.get("validate_only"):
            return 200, json_headers, orjson.dumps({"name": f"projects/{project}/messages/fake_message_id"})
        name = f"projects/{project}/messages/{name_prefix}{next(counter):012x}"
        mid = (message.get("data") or {}).get("message_id") or name
        state.accepted[mid] += 1
        if len(state.messages) < state.keep_messages:
            state.messages.append(message)
        state.statuses[200] += 1
        return 200, json_headers, orjson.dumps({"name": name})

    async def send_message(scope, receive, send, project: str):
        body = await read_body(receive)
        checked = check_send(header(scope, b"authorization"), project, body)
        if len(checked) == 3:
            return await respond(send, *_status_first(checked))
        if state.faults["delay_seconds"]:
            await asyncio.sleep(state.faults["delay_seconds"])
        return await respond(send, *_status_first(decide(project, *checked)))

    def _status_first(answer):
        status, headers, body = answer
        return status, body, headers

    def fast(method: bytes | None, path: bytes | None, headers, body: bytes, peer):
        """The send route without ASGI (see h2serve): None for anything else, or a delayed answer."""
        if method != b"POST" or not path or state.faults["delay_seconds"]:
            return None
        p = path.decode("latin-1")
        if not (p.startswith(send_prefix) and p.endswith(send_suffix)):
            return None
        project = p[len(send_prefix) : -len(send_suffix)]
        state.requests += 1
        key = state.inflight.enter_key(peer)
        try:
            auth = None
            for k, v in headers:
                if k == b"authorization":
                    auth = v.decode("latin-1")
                    break
            checked = check_send(auth, project, body)
            if len(checked) == 3:
                return checked
            return decide(project, *checked)
        finally:
            state.inflight.leave(key)

    def _error(code: str, message: str | None = None):
        status, body = fcm_error_body(code, message)
        state.statuses[status] += 1
        state.errors[code] += 1
        headers = json_headers
        if status in (429, 503):
            headers = [*json_headers, (b"retry-after", str(state.faults["retry_after"]).encode())]
        return status, headers, orjson.dumps(body)

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

    app.fast = fast
    return app


class FcmProcess:
    """The stand-in as the benchmarks run it: ``python -m testkit.standins.fcm_server``
    in a process of its own (TLS with a CA made in ``directory``), trusting a service
    account written to ``sa_file``; driven through its control routes."""

    def __init__(self, directory: Path, project: str, args: list[str] | None = None):
        from testkit.standins.certs import make_service_account, make_tls, public_key_pem_of
        from testkit.standins.serving import ServerProcess

        self.tls = make_tls(directory)
        self.project = project
        self.ca_file = str(self.tls.ca_file)
        self.proc = ServerProcess("testkit.standins.fcm_server", self.tls, ["--project", project, *(args or [])]).start()
        self.base_url = self.proc.base_url
        self.sa_file = str(directory / "sa.json")
        try:
            info = make_service_account(Path(self.sa_file), project_id=project, token_uri=self.base_url + "/token")
            self.control = self.proc.control_client()
            self.control.post(
                "/_control/service_account",
                json={"client_email": info["client_email"], "public_key_pem": public_key_pem_of(info["private_key"])},
            ).raise_for_status()
        except BaseException:
            self.proc.stop()
            raise

    def stats(self, ids: bool = False) -> dict:
        """Counters; with ``ids``, also every accepted message id (large after a big run)."""
        r = self.control.get("/_control/stats", params={"ids": "1" if ids else "0"})
        r.raise_for_status()
        return r.json()

    def reset(self, faults: dict | None = None) -> None:
        self.control.post("/_control/reset").raise_for_status()
        if faults:
            self.control.post("/_control/faults", json=faults).raise_for_status()

    def stop(self) -> None:
        self.control.close()
        self.proc.stop()


def main(argv: list[str] | None = None) -> None:
    from hypercorn.asyncio import serve

    from testkit.standins.serving import hypercorn_config, orphan_watch, run_h2, tls_from_dir

    p = argparse.ArgumentParser(description="local FCM HTTP v1 server")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--tls-dir", required=True)
    p.add_argument("--project", default="bousai-local")
    p.add_argument("--max-streams", type=int, default=100)
    p.add_argument("--goaway-after", type=int, default=None, help="requests per connection before GOAWAY")
    p.add_argument(
        "--engine", choices=("granian", "h2", "hypercorn"), default="granian",
        help="granian (hyper's HTTP/2 in Rust: the server costs least, so a benchmark measures the sender, "
        "not the stand-in), h2 (in Python; supports --goaway-after) or hypercorn",
    )
    args = p.parse_args(argv)
    state = FcmState(args.project)
    tls = tls_from_dir(args.tls_dir)
    try:
        import uvloop  # noqa: F401  (uvicorn[standard] brings it; the server is the load target)

        uvloop.install()
    except ImportError:
        pass
    app = make_fcm_app(state)
    if args.engine == "granian":
        if args.goaway_after:
            p.error("--goaway-after needs --engine h2 or hypercorn")
        from granian.http import HTTP2Settings
        from granian.server.embed import Server

        server = Server(
            app, "127.0.0.1", args.port, interface="asgi", http="auto", ssl_cert=Path(tls.cert_file), ssl_key=Path(tls.key_file),
            http2_settings=HTTP2Settings(max_concurrent_streams=args.max_streams), log_enabled=False,
        )

        async def serve_granian():
            task = asyncio.create_task(server.serve())
            await orphan_watch()
            server.stop()
            await task

        asyncio.run(serve_granian())
    elif args.engine == "h2":
        asyncio.run(run_h2(app, args.port, tls, args.max_streams, args.goaway_after, orphan_watch))
    else:
        config = hypercorn_config(
            args.port, tls, max_streams=args.max_streams, keep_alive_max_requests=args.goaway_after or 10**9
        )
        asyncio.run(serve(app, config, shutdown_trigger=orphan_watch))


if __name__ == "__main__":
    main()
