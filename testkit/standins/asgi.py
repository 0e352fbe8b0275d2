"""Minimal raw-ASGI helpers for the local protocol servers (no framework: they are load targets)."""

from __future__ import annotations

import orjson


async def read_body(receive, limit: int = 1 << 20) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        event = await receive()
        if event["type"] == "http.disconnect":
            break
        body = event.get("body", b"")
        size += len(body)
        if size <= limit:
            chunks.append(body)
        if not event.get("more_body"):
            break
    return b"".join(chunks)


async def respond(send, status: int, body: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None) -> None:
    hdrs = [(b"content-length", str(len(body)).encode())]
    if headers:
        hdrs.extend(headers)
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": body})


async def respond_json(send, status: int, obj, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await respond(send, status, orjson.dumps(obj), [(b"content-type", b"application/json; charset=UTF-8"), *(headers or [])])


async def lifespan(receive, send) -> None:
    while True:
        event = await receive()
        if event["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif event["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def header(scope, name: bytes) -> str | None:
    for k, v in scope["headers"]:
        if k == name:
            return v.decode("latin-1")
    return None


class InflightTracker:
    """Requests in flight per client connection (host, port): the peak shows whether a
    client kept within the SETTINGS_MAX_CONCURRENT_STREAMS it was given."""

    def __init__(self) -> None:
        self.current: dict[tuple, int] = {}
        self.peak = 0

    def enter(self, scope) -> tuple:
        return self.enter_key(tuple(scope.get("client") or ("?", 0)))

    def enter_key(self, key) -> tuple:
        n = self.current.get(key, 0) + 1
        self.current[key] = n
        if n > self.peak:
            self.peak = n
        return key

    def leave(self, key: tuple) -> None:
        n = self.current.get(key, 1) - 1
        if n <= 0:
            self.current.pop(key, None)
        else:
            self.current[key] = n
