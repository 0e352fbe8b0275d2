"""Staff sign-in and account administration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Path
from sqlalchemy.ext.asyncio import AsyncSession

from server import ratelimit
from server.deps import SESSION
from alerts.staff import service
from alerts.staff.deps import require_staff
from alerts.staff.principal import StaffPrincipal
from alerts.staff.schemas import AccountIn, AccountOut, AccountUpdate, LoginIn, StaffMe, TokenOut
from alerts.staff.settings import get_staff_settings
from alerts.staff.tokens import issue_token

# Postgres bigint: a larger id is a bad request (422), never a database error.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]

router = APIRouter(tags=["staff"])

admin_only = require_staff(roles=("admin",))
any_staff = require_staff()


@router.post("/v1/staff/auth/login", response_model=TokenOut)
async def login(body: LoginIn, request: Request, session: AsyncSession = SESSION):
    """Password sign-in → a short-lived bearer token. Every attempt is counted (atomically,
    before the password is checked) per (username, address) and per address; a success is
    given back. Another address is never locked out by someone else's guesses."""
    settings = get_staff_settings()
    redis = request.app.state.redis
    window = settings.staff_login_window_seconds
    ip = ratelimit.client_address(request)
    pair = f"{body.username.lower()}|{ip}"
    counted = (
        ("staff-login-pair", pair, settings.staff_login_max_per_user_address),
        ("staff-login-ip", ip, settings.staff_login_max_per_ip),
    )
    verdicts = [await ratelimit.hit_failsafe(redis, name, subject, limit=limit, window=window)
                for name, subject, limit in counted]
    refused = [v for v in verdicts if not v.allowed]
    if refused:
        ratelimit.raise_limited(max(refused, key=lambda v: v.retry_after), "sign-in attempts")
    account = await service.authenticate(session, body.username, body.password)  # Unauthorized: stays counted
    for name, subject, _ in counted:
        await ratelimit.give_back(redis, name, subject, window=window)
    token, exp = issue_token(settings, account.id, account.token_version)
    return TokenOut(token=token, expires_at=exp, account=StaffMe.model_validate(service.principal_of(account).public()))


@router.get("/v1/staff/me", response_model=StaffMe)
async def me(principal: StaffPrincipal = Depends(any_staff)):
    return principal.public()


@router.post("/v1/staff/accounts", status_code=201, response_model=AccountOut)
async def create_account(
    body: AccountIn, session: AsyncSession = SESSION, principal: StaffPrincipal = Depends(admin_only)
):
    """Administrators create accounts (there is no self sign-up)."""
    return service.account_view(await service.create_account(session, principal, body))


@router.get("/v1/staff/accounts", response_model=list[AccountOut])
async def list_accounts(session: AsyncSession = SESSION, principal: StaffPrincipal = Depends(admin_only)):
    return [service.account_view(a) for a in await service.list_accounts(session)]


@router.patch("/v1/staff/accounts/{account_id}", response_model=AccountOut)
async def update_account(
    account_id: RowId,
    body: AccountUpdate,
    session: AsyncSession = SESSION,
    principal: StaffPrincipal = Depends(admin_only),
):
    """Rename, reset a password, change role or scope, (de)activate. Revokes the account's tokens."""
    return service.account_view(await service.update_account(session, principal, account_id, body))
