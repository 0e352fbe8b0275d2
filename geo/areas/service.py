"""The area list: every area of a kind, optionally with a simplified outline for maps."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from geo.areas import repository as repo


async def list_areas(session: AsyncSession, kind: str, *, geometry: bool) -> list[dict]:
    rows = await repo.list_of_kind(session, kind, geometry=geometry)
    return [
        {"code": c, "name": n, "kana": k, "parent_code": p, **({"geometry": g} if geometry else {})}
        for c, n, k, p, g in rows
    ]
