"""Edge check on every request: no NUL character in the path, the query or a JSON / form body,
and a body that arrives within its deadline (408 otherwise: a client trickling its body held
its connection and a worker's attention for as long as it liked).

PostgreSQL text cannot hold U+0000, so a NUL reaching a query was a 500 on a dozen routes
(labels, names, messages, usernames, tokens, filters, jsonb notes, path ids). Refusing it
here, once, with the 422 shape of payload validation, covers every route and every field,
including the ones written after this (instead of a validator per field that one forgets).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

import asyncio

import orjson

from server.errors import error_body

BODY_METHODS = (b"POST", b"PUT", b"PATCH", "POST", "PUT", "PATCH")


def _nul_paths(value: Any, loc: list) -> list[list]:
    """Where NULs sit in a decoded JSON value (keys and strings)."""
    found: list[list] = []
    if isinstance(value, str):
        if "\x00" in value:
            found.append(loc)
    elif isinstance(value, dict):
        for k, v in value.items():
            if "\x00" in k:
                found.append([*loc, k.replace("\x00", "\\u0000")])
            found.extend(_nul_paths(v, [*loc, k.replace("\x00", "\\u0000")]))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(_nul_paths(v, [*loc, i]))
    return found


def find_nuls(scope: dict, body: bytes | None) -> list[list]:
    """The locations (``["path"]``, ``["query", name]``, ``["body", ...]``) holding a NUL."""
    found: list[list] = []
    if "\x00" in scope.get("path", ""):
        found.append(["path"])
    qs: bytes = scope.get("query_string", b"")
    if b"%00" in qs or b"\x00" in qs:
        for name, value in parse_qsl(qs.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                found.append(["query", name.replace("\x00", "\\u0000")])
        if not any(loc[0] == "query" for loc in found):
            found.append(["query"])
    if body:
        ctype = b""
        for k, v in scope.get("headers", ()):
            if k == b"content-type":
                ctype = v.lower()
        if b"json" in ctype and b"\\u0000" in body:
            try:
                found.extend(_nul_paths(orjson.loads(body), ["body"]))
            except orjson.JSONDecodeError:
                pass  # not JSON: the route's own parsing answers 422
        elif b"x-www-form-urlencoded" in ctype and b"%00" in body:
            if b"\x00" in unquote_to_bytes(body.replace(b"+", b" ")):
                found.append(["body"])
    return found


async def _answer(send, status: int, payload: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


class NulGuardMiddleware:
    """Pure ASGI. Reads a body whole within ``body_timeout`` seconds (BodySizeLimitMiddleware
    outside it bounds its size) and hands it on unchanged; 422 ``validation_error`` when any
    NUL is found, 408 ``request_timeout`` when the body is late."""

    def __init__(self, app, body_timeout: float | None = None):
        self.app = app
        self.body_timeout = body_timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        body = None
        if scope.get("method") in BODY_METHODS:
            chunks: list[bytes] = []
            try:
                async with asyncio.timeout(self.body_timeout):
                    while True:
                        message = await receive()
                        if message["type"] != "http.request":
                            break
                        chunks.append(message.get("body", b""))
                        if not message.get("more_body", False):
                            break
            except TimeoutError:
                return await _answer(send, 408, orjson.dumps(error_body(
                    f"request body not received within {self.body_timeout:g} s", "request_timeout")))
            body = b"".join(chunks)
            replayed = False

            async def receive_again():
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            app_receive = receive_again
        else:
            app_receive = receive
        found = find_nuls(scope, body)
        if found:
            return await _answer(send, 422, orjson.dumps(error_body(
                "request validation failed", "validation_error",
                [{"loc": loc, "msg": "the NUL character (U+0000) is not allowed", "type": "string_nul"}
                 for loc in found[:20]],
            )))
        await self.app(scope, app_receive, send)
