"""Shelter check-in codes: a signed, rotatable token in a URL, printed as a QR code at the door.

    bsc1.<key id>.<shelter id, base64url>.<code version>.<HMAC-SHA256, 96 bits, base64url>

The key lives in the database (``shelter_code_keys``), so every API process and the CLI sign
and verify alike and a printed code survives restarts. Rotating one shelter's code bumps its
``checkin_code_version``: the old poster stops working at once (a photo of it shared online,
a code left from last year's drill). The token says which shelter; it grants nothing else —
a check-in still needs the resident's own credential, or a staff account.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

from sqlalchemy.ext.asyncio import AsyncSession

from geo.shelters import codes_repository as codes_repo
from geo.shelters import repository as shelters_repo
from geo.shelters.config import get_shelter_settings
from server.errors import AppError

PREFIX = "bsc1"
MAC_BYTES = 12  # 96 bits: forging one needs ~2^95 tries against a rate-limited API
MAX_CODE_CHARS = 600

_keys: dict[int, bytes] = {}
_current: tuple[int, float] | None = None  # (key id, when read)


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _mac(secret: bytes, key_id: int, shelter_id: str, version: int) -> str:
    msg = f"{PREFIX}|{key_id}|{shelter_id}|{version}".encode()
    return _b64(hmac.new(secret, msg, hashlib.sha256).digest()[:MAC_BYTES])


class InvalidCode(AppError):
    status_code = 400
    code = "invalid_checkin_code"


@dataclass(frozen=True)
class CheckinCode:
    shelter_id: str
    version: int
    token: str

    @property
    def url(self) -> str:
        return get_shelter_settings().checkin_url_base + self.token


async def _key(session: AsyncSession, key_id: int) -> bytes | None:
    if key_id not in _keys:
        secret = await codes_repo.key_secret(session, key_id)
        if secret is None:
            return None
        _keys[key_id] = bytes(secret)
    return _keys[key_id]


async def _current_key(session: AsyncSession) -> tuple[int, bytes]:
    global _current
    ttl = get_shelter_settings().key_cache_seconds
    if _current is None or time.monotonic() - _current[1] > ttl:
        row = await codes_repo.newest_key(session)
        if row is None:
            # First use anywhere: one process creates it (the lock keeps two from racing).
            await codes_repo.lock_keys(session)
            row = await codes_repo.newest_key(session)
            if row is None:
                row = await codes_repo.insert_key(session, secrets.token_bytes(32))
        _keys[row[0]] = bytes(row[1])
        _current = (row[0], time.monotonic())
    return _current[0], _keys[_current[0]]


async def add_key(session: AsyncSession) -> int:
    """A new signing key (codes printed from now on use it; older codes keep working)."""
    global _current
    kid = (await codes_repo.insert_key(session, secrets.token_bytes(32)))[0]
    _current = None
    return kid


async def code_for(session: AsyncSession, shelter_id: str, version: int) -> CheckinCode:
    key_id, secret = await _current_key(session)
    token = ".".join((PREFIX, str(key_id), _b64(shelter_id.encode()), str(version), _mac(secret, key_id, shelter_id, version)))
    return CheckinCode(shelter_id=shelter_id, version=version, token=token)


def token_of(raw: str) -> str:
    """The token from what the app scanned: the token itself or the whole URL."""
    raw = (raw or "").strip()
    if len(raw) > MAX_CODE_CHARS:
        raise InvalidCode("this is not a shelter check-in code (too long)")
    if raw.startswith(PREFIX + "."):
        return raw
    parsed = urlparse(raw)
    for value in parse_qs(parsed.query).get("c", []):
        if value.startswith(PREFIX + "."):
            return value
    last = parsed.path.rstrip("/").rpartition("/")[2]
    if last.startswith(PREFIX + "."):
        return last
    raise InvalidCode("this is not a shelter check-in code")


async def verify(session: AsyncSession, raw: str, *, any_version: bool = False) -> tuple[str, str]:
    """(shelter id, municipality code) of a valid current code; 400 otherwise. ``any_version``
    accepts a genuine code of an older version too (to recognise a repeat sent from a queue
    filled before the code was rotated)."""
    token = token_of(raw)
    parts = token.split(".")
    # Digits only, and few of them: an id past int4 would reach the database as an error.
    if len(parts) != 5 or not (parts[1].isdigit() and len(parts[1]) <= 9 and parts[3].isdigit() and len(parts[3]) <= 9):
        raise InvalidCode("this is not a shelter check-in code")
    _, kid, sid_b64, ver, mac = parts
    try:
        shelter_id = _unb64(sid_b64).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidCode("this is not a shelter check-in code") from None
    secret = await _key(session, int(kid))
    if secret is None or not hmac.compare_digest(mac, _mac(secret, int(kid), shelter_id, int(ver))):
        raise InvalidCode("this shelter check-in code is not genuine")
    found = await shelters_repo.code_version(session, shelter_id)
    if found is None:
        raise InvalidCode("this code names a shelter that is no longer in the registry", code="unknown_shelter")
    if int(ver) != found[2] and not any_version:
        raise InvalidCode("this shelter's code was replaced; scan the code posted at the shelter now",
                          code="checkin_code_replaced")
    return found[0], found[1]
