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
