"""Error answers in the language the client asks for (``Accept-Language``).

The API's errors are ``{"error", "code", "detail"}`` with an English ``error``. A resident's
app shows what went wrong in the resident's own language: when the request names one of the
16 languages (``server.i18n``), the ``error`` is said in it — by its code, else by its HTTP
status (``server/error_messages.json``) — and the English stays in ``error_en``. ``code``
and ``detail`` never change (clients branch on the code). Without the header, or asking for
English, the answer is untouched.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from server.i18n import match_language

CATALOG = Path(__file__).with_name("error_messages.json")


@cache
def catalog() -> dict[str, dict[str, str]]:
    return {k: v for k, v in json.loads(CATALOG.read_text(encoding="utf-8")).items() if not k.startswith("_")}


def requested_language(header: str | None) -> str | None:
    """The first of the header's languages (by q, then order) that we speak, or None."""
    if not header:
        return None
    tags: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and tag != "*" and q > 0:
            tags.append((-q, i, tag))
    for _, _, tag in sorted(tags):
        lang = match_language(tag)
        if lang is not None:
            return lang
    return None


def localized_error(body: dict[str, Any], status: int, language: str) -> dict[str, Any]:
    messages = catalog().get(str(body.get("code"))) or catalog().get(f"status_{status}") \
        or catalog().get(f"status_{status // 100 * 100}")
    text = (messages or {}).get(language)
    if not text or language == "en":
        return body
    return {**body, "error": text, "error_en": body.get("error"), "language": language}


class ErrorLanguageMiddleware:
    """Pure ASGI: rewrites JSON error bodies (status ≥ 400) for a request that asks for a language."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        header = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"accept-language"), None)
        language = requested_language(header)
        if language is None or language == "en":
            return await self.app(scope, receive, send)
        start: dict | None = None
        chunks: list[bytes] = []

        async def _send(message):
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                if message["status"] >= 400 and headers.get(b"content-type", b"").startswith(b"application/json"):
                    start = message
                    return
                return await send(message)
            if message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                raw = b"".join(chunks)
                try:
                    body = json.loads(raw)
                    if isinstance(body, dict) and "error" in body and "code" in body:
                        raw = json.dumps(localized_error(body, start["status"], language), ensure_ascii=False).encode()
                except ValueError:
                    pass
                headers = [(k, v) for k, v in start.get("headers") or [] if k != b"content-length"]
                headers.append((b"content-length", str(len(raw)).encode()))
                await send({**start, "headers": headers})
                return await send({"type": "http.response.body", "body": raw})
            return await send(message)

        return await self.app(scope, receive, _send)
