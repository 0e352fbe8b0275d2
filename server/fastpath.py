"""Fast paths: the hottest GET routes answered without the framework's per-request machinery.

When most residents open the app at once, seconds after a strong quake's push, a few
routes take nearly every request (their list of alerts, an alert's detail). Routing,
dependency injection, an ORM session with its pool ping, BEGIN and COMMIT, and response
validation then cost more CPU than the work itself.

A domain registers a handler for one of its GET routes (:func:`add`, from its api module's
``install_middleware``); one pure-ASGI layer (:class:`FastPathMiddleware`) sits inside the
kit's guards (request ids, metrics, error language, rate limit, NUL guard, body limit) and
in front of the routers. The route stays the documented and complete answer. A handler
answers only the ordinary, well-formed case and returns ``None`` for anything else — a
query parameter it does not know, a missing, malformed or unknown credential, a cursor it
cannot read — and the request then goes to the route unchanged, which answers it (and its
errors) as it always did. So a fast path can only answer sooner, never differently. A
handler that raises the app's own error (``AppError``) declines too; anything else (an
outage) is answered by the error guard outside, as for a route. Handlers read and never
write: a request they decline is run again by the route.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from server.bearer import MalformedAuthorization, asgi_authorization, bearer_from_header
from server.errors import AppError


class FastGet:
    """The request as a handler sees it: path parameters (strings, as matched), the query,
    the bearer token, the ASGI scope and the app's state."""

    __slots__ = ("scope", "params", "state")

    def __init__(self, scope: dict[str, Any], params: dict[str, str], state: Any):
        self.scope = scope
        self.params = params
        self.state = state

    def query(self, allowed: frozenset[str]) -> dict[str, str] | None:
        """The query as ``{name: value}``; None (let the route answer) when it names anything
        not in ``allowed``, names one twice, or is not well-formed."""
        raw = self.scope.get("query_string") or b""
        if not raw:
            return {}
        try:
            pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, strict_parsing=True, encoding="utf-8",
                              errors="strict", max_num_fields=len(allowed) + 1)
        except (ValueError, UnicodeDecodeError):
            return None
        out = dict(pairs)
        if len(out) != len(pairs) or not out.keys() <= allowed:
            return None
        return out

    def row_id(self, name: str) -> int | None:
        """A path parameter as a row id (1 … 2⁶³−1, plain digits); None otherwise (the route
        answers: a 422 for what it refuses)."""
        value = self.params[name]
        if not (value.isascii() and value.isdigit() and len(value) <= 19):
            return None
        n = int(value)
        return n if 0 < n <= MAX_ROW_ID else None

    def bearer(self) -> str | None:
        """The bearer token; None when there is none or the header is malformed (the route says which)."""
        try:
            return bearer_from_header(asgi_authorization(self.scope))
        except MalformedAuthorization:
            return None


# Postgres bigint: the largest row id a route accepts.
MAX_ROW_ID = 2**63 - 1

# A handler: the JSON body of a 200 answer, or None to let the route answer.
Handler = Callable[[FastGet], Awaitable[bytes | None]]

_REGISTRY = "fast_paths"


def add(app: Any, path: str, handler: Handler) -> None:
    """Answer ``GET path`` (a route's template, e.g. ``/v1/alerts/{alert_id}``) with ``handler``
    first. Called from a domain api module's ``install_middleware(app)``."""
    routes: list | None = getattr(app.state, _REGISTRY, None)
    if routes is None:
        routes = []
        setattr(app.state, _REGISTRY, routes)
    if "{" not in path:
        routes.append((path, None, handler))
        return
    pattern = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")
    routes.append((path, pattern, handler))


def install(app: Any) -> None:
    """One layer for every registered fast path (none registered: no layer)."""
    routes = getattr(app.state, _REGISTRY, None)
    if routes:
        app.add_middleware(FastPathMiddleware, fastapi_app=app, routes=routes)


@dataclass(frozen=True, slots=True)
class RouteTemplate:
    """Stands for the route in the ASGI scope of a request a fast path answered
    (``scope["route"]``, where the router puts the route it matched), so what reads it
    afterwards — the request metrics, by route template — counts the request under its
    route, not as "unmatched"."""

    path: str


class FastPathMiddleware:
    def __init__(self, app: Any, fastapi_app: Any, routes: list):
        self.app = app
        self.fastapi_app = fastapi_app
        self.exact = {path: (handler, RouteTemplate(path)) for path, pattern, handler in routes if pattern is None}
        self.templated = [(pattern, handler, RouteTemplate(path)) for path, pattern, handler in routes
                          if pattern is not None]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            return await self.app(scope, receive, send)
        path = scope["path"]
        found = self.exact.get(path)
        params: dict[str, str] = {}
        if found is None:
            for pattern, h, r in self.templated:
                m = pattern.match(path)
                if m is not None:
                    found, params = (h, r), m.groupdict()
                    break
            else:
                return await self.app(scope, receive, send)
        handler, route = found
        try:
            body = await handler(FastGet(scope, params, self.fastapi_app.state))
        except AppError:
            body = None  # the route raises it again and answers it as the API documents
        if body is None:
            return await self.app(scope, receive, send)
        scope["route"] = route
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
