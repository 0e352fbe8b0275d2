"""Staff accounts (``staff_accounts``): the reads by name and the listing. Never commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.staff.models import StaffAccount


async def by_username(session: AsyncSession, username: str) -> StaffAccount | None:
    return (await session.execute(select(StaffAccount).where(StaffAccount.username == username))).scalar_one_or_none()


async def username_taken(session: AsyncSession, username: str) -> bool:
    return (await session.execute(select(StaffAccount.id).where(StaffAccount.username == username))).first() is not None


async def list_accounts(session: AsyncSession) -> list[StaffAccount]:
    return list((await session.execute(select(StaffAccount).order_by(StaffAccount.id))).scalars())


async def municipality_of(session: AsyncSession, account_id: int) -> str | None:
    """The municipality of an account (None: prefecture staff, or no such account)."""
    account = await session.get(StaffAccount, account_id)
    return account.municipality_code if account is not None else None
