"""The feeds' memory (``feed_state``, ``feed_entries``): what was polled and which entries are
settled. Each function runs in the caller's session; none commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.feeds.models import FeedEntry, FeedState


async def save_state(session: AsyncSession, url: str, **values: Any) -> None:
    stmt = insert(FeedState).values(url=url, **values)
    await session.execute(stmt.on_conflict_do_update(index_elements=["url"], set_=values))


async def entries_known(session: AsyncSession, entry_ids: list[str]) -> dict[str, Row]:
    """entry_id -> (entry_id, status, attempts) of the entries already recorded."""
    rows = await session.execute(
        select(FeedEntry.entry_id, FeedEntry.status, FeedEntry.attempts).where(FeedEntry.entry_id.in_(entry_ids))
    )
    return {r.entry_id: r for r in rows}


async def record_entry(session: AsyncSession, values: dict[str, Any]) -> None:
    stmt = insert(FeedEntry).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["entry_id"],
        set_=dict(status=stmt.excluded.status, error=stmt.excluded.error, size_bytes=stmt.excluded.size_bytes,
                  alert_count=stmt.excluded.alert_count, fetched_at=stmt.excluded.fetched_at,
                  attempts=FeedEntry.attempts + 1),
        where=FeedEntry.status == "retry",  # a settled entry is never rewritten
    )
    await session.execute(stmt)


async def entry_attempts(session: AsyncSession, entry_id: str) -> int | None:
    return (await session.execute(select(FeedEntry.attempts).where(FeedEntry.entry_id == entry_id))).scalar()


async def forget_entries(session: AsyncSession, seen_before: datetime) -> int:
    """Delete the settled entries first seen before ``seen_before`` (a retry is kept)."""
    result = await session.execute(
        delete(FeedEntry).where(FeedEntry.status != "retry", FeedEntry.first_seen_at < seen_before)
    )
    return result.rowcount  # type: ignore[attr-defined]


async def status_summary(session: AsyncSession) -> tuple[list[FeedState], dict[str, int], list[Row]]:
    """The feeds' states, entries per status, and the last ten entries in error."""
    states = list((await session.execute(select(FeedState).order_by(FeedState.url))).scalars().all())
    counts: dict[str, int] = {
        status: n for status, n in (await session.execute(select(FeedEntry.status, func.count()).group_by(FeedEntry.status))).all()
    }
    recent_errors = list(
        (
            await session.execute(
                select(FeedEntry.entry_id, FeedEntry.error)
                .where(FeedEntry.status.in_(("error", "retry", "refused")))
                .order_by(FeedEntry.id.desc())
                .limit(10)
            )
        ).all()
    )
    return states, counts, recent_errors
