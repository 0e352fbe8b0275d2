"""Short-lived staff tokens: HS256 JWTs carrying the account id and its token version.

The token version is checked against the account on every request, so deactivating an
account or changing its role or password revokes its tokens at once.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt

from server.errors import Unauthorized
from alerts.staff.settings import StaffSettings

ISSUER = "bousai-staff"
ALGORITHM = "HS256"


@dataclass(frozen=True)
class TokenClaims:
    account_id: int
    version: int
    expires_at: int


def issue_token(settings: StaffSettings, account_id: int, version: int) -> tuple[str, int]:
    now = int(time.time())
    exp = now + settings.staff_token_ttl_seconds
    payload = {"iss": ISSUER, "sub": str(account_id), "ver": version, "iat": now, "exp": exp, "jti": secrets.token_hex(8)}
    return jwt.encode(payload, settings.token_secret(), algorithm=ALGORITHM), exp


def decode_token(settings: StaffSettings, token: str) -> TokenClaims:
    try:
        claims = jwt.decode(
            token,
            settings.token_secret(),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
        return TokenClaims(account_id=int(claims["sub"]), version=int(claims.get("ver", 0)), expires_at=int(claims["exp"]))
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("staff token expired; sign in again", code="token_expired") from exc
    except (jwt.InvalidTokenError, ValueError, TypeError) as exc:
        raise Unauthorized("invalid staff token", code="invalid_token") from exc
