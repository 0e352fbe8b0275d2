"""SQL over the check-in code signing keys (``shelter_code_keys``), for :mod:`geo.shelters.codes`.

Kept apart from :mod:`geo.shelters.repository` (the shelters themselves); the same owner.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def key_secret(session: AsyncSession, key_id: int) -> bytes | None:
    return (await session.execute(text("SELECT secret FROM shelter_code_keys WHERE id = :i"), {"i": key_id})).scalar()


async def newest_key(session: AsyncSession):
    """(id, secret) of the newest key, or None."""
    return (await session.execute(text("SELECT id, secret FROM shelter_code_keys ORDER BY id DESC LIMIT 1"))).first()


async def lock_keys(session: AsyncSession) -> None:
    """Serialise the first key's creation (transaction-scoped advisory lock)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('bousai:shelter_code_keys'))"))


async def insert_key(session: AsyncSession, secret: bytes):
    """A new key: its (id, secret)."""
    return (
        await session.execute(text("INSERT INTO shelter_code_keys (secret) VALUES (:s) RETURNING id, secret"), {"s": secret})
    ).first()
