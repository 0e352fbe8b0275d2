"""Resident bearer tokens: 256 random bits, shown once, stored only as a SHA-256 hash.

A fast hash is right here (unlike passwords): the token has full entropy, so there is
nothing to brute-force, and the lookup sits on every request's hot path.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "bsd_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class MalformedAuthorization(ValueError):
    """An Authorization header that is not ``Bearer <token>``."""


def bearer_from_header(value: str | bytes | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value; None when there is no
    header; MalformedAuthorization when there is one of another shape."""
    if not value:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise MalformedAuthorization("Authorization header must be 'Bearer <token>'")
    return token.strip()


def asgi_authorization(scope) -> bytes | None:
    """The raw Authorization header of an ASGI scope (for pure-ASGI layers)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return value
    return None


def credential_key(token: str) -> str:
    """A short digest naming one credential (rate limits), without a database lookup."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:32]
