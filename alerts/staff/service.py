"""Staff accounts: create (administrators only), sign in, update. Every change is audited. Never commits."""

from __future__ import annotations

import asyncio
import weakref
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from alerts.staff import repository as staff_repo
from alerts.staff.audit.service import record
from geo.areas import repository as areas_repo
from server.errors import AppError, Conflict, NotFound, Unauthorized
from alerts.staff.models import StaffAccount
from alerts.staff.passwords import hash_password, needs_rehash, verify_password
from alerts.staff.principal import StaffPrincipal
from alerts.staff.schemas import AccountIn, AccountUpdate
from alerts.staff.settings import get_staff_settings

# Roles that act on the whole prefecture and so carry no municipality.
PREFECTURE_ROLES = ("admin", "prefecture")


_slots_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _password_slots() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()  # a semaphore belongs to one loop (the CLI runs its own)
    if loop not in _slots_by_loop:
        _slots_by_loop[loop] = asyncio.Semaphore(get_staff_settings().staff_password_checks_at_once)
    return _slots_by_loop[loop]


async def _off_loop(fn, *args):
    """argon2 (tens of ms of CPU, 64 MiB) in a worker thread, a bounded number at once: on the
    event loop a burst of sign-ins stalled every other request, /healthz included."""
    async with _password_slots():
        return await asyncio.to_thread(fn, *args)


def principal_of(a: StaffAccount) -> StaffPrincipal:
    return StaffPrincipal(
        id=a.id, username=a.username, display_name=a.display_name, role=a.role, municipality_code=a.municipality_code
    )


def account_view(a: StaffAccount) -> dict:
    """What the audit log and the API show: never the hash."""
    return {
        "id": a.id,
        "username": a.username,
        "display_name": a.display_name,
        "role": a.role,
        "municipality_code": a.municipality_code,
        "is_active": a.is_active,
        "created_at": a.created_at.isoformat() if a.created_at else None,
        "last_login_at": a.last_login_at.isoformat() if a.last_login_at else None,
    }


async def municipality_exists(session: AsyncSession, code: str) -> bool:
    return await areas_repo.municipality_exists(session, code)


async def _check_scope_fields(session: AsyncSession, role: str, municipality_code: str | None) -> None:
    if role in PREFECTURE_ROLES and municipality_code is not None:
        raise AppError(f"role {role} acts on the whole prefecture: no municipality_code", code="invalid_scope")
    if role == "municipal" and municipality_code is None:
        raise AppError("a municipal operator needs a municipality_code", code="invalid_scope")
    if municipality_code is not None and not await municipality_exists(session, municipality_code):
        raise AppError(f"unknown municipality {municipality_code}", code="unknown_municipality")


async def create_account(session: AsyncSession, actor: StaffPrincipal | None, data: AccountIn) -> StaffAccount:
    await _check_scope_fields(session, data.role, data.municipality_code)
    if await staff_repo.username_taken(session, data.username):
        raise Conflict(f"username {data.username!r} is taken", code="username_taken")
    account = StaffAccount(
        username=data.username,
        display_name=data.display_name,
        password_hash=await _off_loop(hash_password, data.password),
        role=data.role,
        municipality_code=data.municipality_code,
        is_active=True,
        token_version=1,
        created_by=actor.id if actor else None,
    )
    session.add(account)
    await session.flush()
    await session.refresh(account)
    await record(session, actor, "account.create", ("staff_account", account.id), None, account_view(account),
                 municipality_code=account.municipality_code)
    return account


async def get_account(session: AsyncSession, account_id: int) -> StaffAccount:
    account = await session.get(StaffAccount, account_id)
    if account is None:
        raise NotFound(f"no staff account {account_id}")
    return account


async def list_accounts(session: AsyncSession) -> list[StaffAccount]:
    return await staff_repo.list_accounts(session)


async def update_account(session: AsyncSession, actor: StaffPrincipal, account_id: int, data: AccountUpdate) -> StaffAccount:
    account = await get_account(session, account_id)
    before = account_view(account)
    role = data.role or account.role
    muni = None if data.clear_municipality else (data.municipality_code or account.municipality_code)
    if role in PREFECTURE_ROLES and data.municipality_code is None:
        muni = None
    await _check_scope_fields(session, role, muni)
    if actor.id == account.id and (data.is_active is False or (data.role and data.role != "admin")):
        raise AppError("an administrator cannot deactivate or demote their own account", code="self_lockout")
    revoke = False
    if data.display_name is not None:
        account.display_name = data.display_name
    if data.password is not None:
        account.password_hash = await _off_loop(hash_password, data.password)
        revoke = True
    if role != account.role or muni != account.municipality_code:
        account.role, account.municipality_code = role, muni
        revoke = True
    if data.is_active is not None and data.is_active != account.is_active:
        account.is_active = data.is_active
        revoke = True
    if revoke:
        account.token_version += 1
    await session.flush()
    after = account_view(account)
    if data.password is not None:
        after["password_changed"] = True
    await record(session, actor, "account.update", ("staff_account", account.id), before, after,
                 municipality_code=account.municipality_code)
    return account


async def authenticate(session: AsyncSession, username: str, password: str) -> StaffAccount:
    """The account for these credentials, or Unauthorized (same answer for every kind of failure)."""
    account = await staff_repo.by_username(session, username)
    ok = await _off_loop(verify_password, account.password_hash if account else None, password)
    if not ok or account is None or not account.is_active:
        raise Unauthorized("wrong username or password", code="bad_credentials")
    if needs_rehash(account.password_hash):
        account.password_hash = await _off_loop(hash_password, password)
    account.last_login_at = datetime.now(UTC)
    await session.flush()
    return account
