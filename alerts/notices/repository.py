"""Evacuation notices and the districts operators draw (``evacuation_notices``,
``notice_districts``). Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.notices.models import EvacuationNotice, NoticeDistrict


async def get_notice(session: AsyncSession, notice_id: int, *, for_update: bool = False) -> EvacuationNotice | None:
    q = select(EvacuationNotice).where(EvacuationNotice.id == notice_id)
    if for_update:
        q = q.with_for_update()
    return (await session.execute(q)).scalar_one_or_none()


async def list_notices(
    session: AsyncSession, *, state: str | None, municipality_code: str | None, limit: int
) -> list[EvacuationNotice]:
    """Newest first; ``municipality_code`` keeps the notices of that municipality alone."""
    q = select(EvacuationNotice).order_by(EvacuationNotice.id.desc()).limit(limit)
    if state:
        q = q.where(EvacuationNotice.state == state)
    if municipality_code is not None:
        q = q.where(EvacuationNotice.municipality_codes == [municipality_code])
    return list((await session.execute(q)).scalars())


async def chain_head(session: AsyncSession, root_id: int) -> EvacuationNotice | None:
    """The chain's last issued notice."""
    q = (
        select(EvacuationNotice)
        .where(EvacuationNotice.root_id == root_id, EvacuationNotice.state == "issued")
        .order_by(EvacuationNotice.issued_at.desc(), EvacuationNotice.id.desc())
        .limit(1)
    )
    return (await session.execute(q)).scalar_one_or_none()


async def chain_cap_identifiers(session: AsyncSession, root_id: int | None) -> list[str]:
    """The CAP identifiers of the chain's notices issued so far, in issue order (the original first)."""
    rows = await session.execute(
        select(EvacuationNotice.cap_identifier)
        .where(EvacuationNotice.root_id == root_id, EvacuationNotice.issued_at.is_not(None))
        .order_by(EvacuationNotice.issued_at, EvacuationNotice.id)
    )
    return [r[0] for r in rows if r[0] is not None]


async def district_names(session: AsyncSession, ids: Sequence[int]) -> list[str]:
    return list(
        (await session.execute(
            text("SELECT name FROM notice_districts WHERE id = ANY(:ids) ORDER BY name"), {"ids": list(ids)}
        )).scalars().all()
    )


async def districts_by_id(session: AsyncSession, ids: Sequence[int]) -> list[Any]:
    """(id, municipality_code, name, GeoJSON text) of these districts, by id."""
    return list(
        (
            await session.execute(
                text(
                    "SELECT id, municipality_code, name, ST_AsGeoJSON(geom) FROM notice_districts "
                    "WHERE id = ANY(:ids) ORDER BY id"
                ),
                {"ids": list(ids)},
            )
        ).all()
    )


async def district_exists(session: AsyncSession, municipality_code: str, name: str) -> bool:
    exists = await session.execute(
        select(NoticeDistrict.id).where(NoticeDistrict.municipality_code == municipality_code, NoticeDistrict.name == name)
    )
    return exists.first() is not None


async def list_districts(session: AsyncSession, municipality_code: str | None) -> list[Any]:
    """(id, municipality_code, name, GeoJSON) of the districts (of one municipality, or all)."""
    rows = await session.execute(
        text(
            "SELECT id, municipality_code, name, ST_AsGeoJSON(geom)::json FROM notice_districts "
            "WHERE (CAST(:m AS text) IS NULL OR municipality_code = :m) ORDER BY municipality_code, name"
        ),
        {"m": municipality_code},
    )
    return list(rows.all())


async def chain_with_alerts(session: AsyncSession, root_id: int | None) -> list[EvacuationNotice]:
    """The chain's notices that became alerts (original, corrections, cancellation), in issue order."""
    return list(
        (
            await session.execute(
                select(EvacuationNotice)
                .where(EvacuationNotice.root_id == root_id, EvacuationNotice.alert_id.is_not(None))
                .order_by(EvacuationNotice.issued_at, EvacuationNotice.id)
            )
        ).scalars().all()
    )
