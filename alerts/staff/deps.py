"""``require_staff``: the one gate every staff route goes through (token, account, role, rate limit).

Scope (which municipality) depends on the thing acted on, so services check it with
``StaffPrincipal.require_scope`` once they know the target.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from server import ratelimit
from server.deps import SESSION
from server.errors import Forbidden, Unauthorized
from server.openapi_docs import declare_security
from alerts.staff.models import ROLES, StaffAccount
from alerts.staff.principal import StaffPrincipal
from alerts.staff.service import principal_of
from alerts.staff.settings import get_staff_settings
from alerts.staff.tokens import decode_token


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise Unauthorized("staff sign-in required", code="missing_token")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization header must be 'Bearer <token>'", code="invalid_token")
    return token.strip()


async def current_staff(request: Request, session: AsyncSession = SESSION) -> StaffPrincipal:
    settings = get_staff_settings()
    claims = decode_token(settings, _bearer(request))
    account = await session.get(StaffAccount, claims.account_id)
    if account is None or not account.is_active or account.token_version != claims.version:
        raise Unauthorized("staff token revoked; sign in again", code="token_revoked")
    verdict = await ratelimit.hit_failsafe(
        request.app.state.redis, "staff", str(account.id), limit=settings.staff_requests_per_minute, window=60
    )
    if not verdict.allowed:
        ratelimit.raise_limited(verdict, "staff requests")
    return principal_of(account)


def require_staff(roles: Iterable[str] = ROLES):
    """Dependency: the signed-in staff member, refused with 403 unless their role is in ``roles``."""
    allowed = tuple(roles)
    unknown = set(allowed) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    async def _dependency(principal: StaffPrincipal = Depends(current_staff)) -> StaffPrincipal:
        if principal.role not in allowed:
            raise Forbidden(
                f"this needs role {' or '.join(allowed)}", code="role_forbidden", detail={"role": principal.role}
            )
        return principal

    _dependency.allowed_roles = allowed  # read by the authorization-matrix test
    return _dependency


declare_security(
    current_staff,
    "staffBearer",
    {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A staff token from the staff sign-in (`/v1/staff/…`), short-lived.",
    },
    precedence=0,
)
