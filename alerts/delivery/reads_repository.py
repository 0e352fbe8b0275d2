"""Reads of ``deliveries`` for the delivery modules beside the fan-out (the safety-check flow,
the preview) and for other alerts packages (latency). Never commits.

Kept apart from ``repository.py`` (the fan-out's own statements) only while that file is
being reworked; they belong together."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_TOLD_BY = text(
    """
    SELECT id, resident_id, place_ids, current_location FROM deliveries
    WHERE event_id = :event_id AND last_alert_id = :alert_id AND status = 'told' AND id > :after
    ORDER BY id LIMIT :limit
    """
)

_PRIORS = text(
    """
    SELECT id, resident_id, status, rank, max_rank, last_alert_id, critical, kinds FROM deliveries
    WHERE event_id = :event_id AND resident_id = ANY(:ids)
    """
)

_OF_EVENT = text("SELECT id FROM deliveries WHERE event_id = :event_id")


async def told_by(session: AsyncSession, event_id: int, alert_id: int, *, after: int, limit: int) -> list[Any]:
    """A page (by id, after ``after``) of the deliveries this alert left told: (id, resident_id,
    place_ids, current_location — what the fan-out matched)."""
    return list(
        (await session.execute(_TOLD_BY, {"event_id": event_id, "alert_id": alert_id, "after": after, "limit": limit})).all()
    )


async def priors(session: AsyncSession, event_id: int, resident_ids: Sequence[int]) -> list[Any]:
    """The current ``deliveries`` rows of these residents for the event."""
    return list((await session.execute(_PRIORS, {"event_id": event_id, "ids": list(resident_ids)})).all())


async def ids_of_event(session: AsyncSession, event_id: int) -> list[int]:
    """Every delivery of the event (indexed by event): the way to its pushes without scanning them all."""
    return list((await session.execute(_OF_EVENT, {"event_id": event_id})).scalars())


async def told_event_ids(session: AsyncSession, resident_id: int) -> list[int]:
    """The events the resident was told of (or had held by quiet hours)."""
    rows = await session.execute(
        text("SELECT DISTINCT event_id FROM deliveries WHERE resident_id = :r AND status IN ('told', 'held') ORDER BY 1"),
        {"r": resident_id},
    )
    return list(rows.scalars())


async def count_held(session: AsyncSession, event_id: int, alert_id: int, resident_ids: Sequence[int] | None) -> int:
    """Residents (of ``resident_ids``; None: all) whose delivery of the event this alert left held."""
    return (await session.execute(
        text("""SELECT count(*) FROM deliveries d WHERE d.event_id = :e AND d.last_alert_id = :a AND d.status = 'held'
                AND (CAST(:ids AS bigint[]) IS NULL OR d.resident_id = ANY(CAST(:ids AS bigint[])))"""),
        {"e": event_id, "a": alert_id, "ids": None if resident_ids is None else list(resident_ids)})).scalar_one()


async def event_ids_of_residents(session: AsyncSession, resident_ids: Sequence[int]) -> list[int]:
    """The events any of these residents has a delivery of."""
    if not resident_ids:
        return []
    rows = await session.execute(
        text("SELECT DISTINCT event_id FROM deliveries WHERE resident_id = ANY(CAST(:ids AS bigint[]))"),
        {"ids": list(resident_ids)},
    )
    return list(rows.scalars())
