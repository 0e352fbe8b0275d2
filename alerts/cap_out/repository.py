"""The CAP documents as sent (``cap_messages``): the feed's reads. Never commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.cap_out.models import CapMessage


async def latest(session: AsyncSession, *, include_drills: bool, limit: int) -> list[CapMessage]:
    q = select(CapMessage).order_by(CapMessage.sent_at.desc(), CapMessage.id.desc()).limit(limit)
    if not include_drills:
        q = q.where(CapMessage.is_drill.is_(False))
    return list((await session.execute(q)).scalars())


async def by_identifier(session: AsyncSession, identifier: str) -> CapMessage | None:
    return (await session.execute(select(CapMessage).where(CapMessage.identifier == identifier))).scalar_one_or_none()


async def sent_texts(session: AsyncSession, identifiers: list[str]) -> dict[str, str]:
    """identifier -> its ``sent`` as written, of the messages sent under these identifiers."""
    if not identifiers:
        return {}
    rows = await session.execute(
        select(CapMessage.identifier, CapMessage.sent_text).where(CapMessage.identifier.in_(identifiers))
    )
    return {i: s for i, s in rows}
