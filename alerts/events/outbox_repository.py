"""The alert outbox (``alert_outbox``) and the alert facts its relay reads. Never commits.

Rows are claimed with FOR UPDATE SKIP LOCKED, so any number of relays can run at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_CLAIM = text(
    """
    SELECT o.id, o.alert_id, a.event_id, a.source, a.category, a.msg_type, a.is_drill, e.facts
    FROM alert_outbox o JOIN alerts a ON a.id = o.alert_id JOIN alert_events e ON e.id = a.event_id
    WHERE o.relayed_at IS NULL
    ORDER BY o.id
    LIMIT :batch
    FOR UPDATE OF o SKIP LOCKED
    """
)
_MARK = text(
    "UPDATE alert_outbox o SET relayed_at = now(), stream_entry_id = m.entry "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:entries AS text[])) AS m(id, entry) WHERE o.id = m.id"
)
# Relayed, yet the alert's fan-out has not finished: candidates for a lost stream entry.
_STALLED = text(
    """
    SELECT o.id, o.stream_entry_id
    FROM alert_outbox o JOIN alerts a ON a.id = o.alert_id
    WHERE o.relayed_at < now() - make_interval(secs => :grace) AND o.relayed_at > now() - interval '1 day'
      AND a.fanned_out_at IS NULL
    ORDER BY o.id
    LIMIT 500
    """
)
_UNRELAY = text("UPDATE alert_outbox SET relayed_at = NULL, stream_entry_id = NULL WHERE id = ANY(:ids)")


async def claim(session: AsyncSession, batch: int) -> list[Any]:
    """Up to ``batch`` unrelayed rows with their alert's facts, locked until the caller's commit."""
    return list((await session.execute(_CLAIM, {"batch": batch})).all())


async def mark_relayed(session: AsyncSession, ids: Sequence[int], entries: Sequence[str]) -> None:
    await session.execute(_MARK, {"ids": list(ids), "entries": list(entries)})


async def stalled(session: AsyncSession, grace_seconds: float) -> list[Any]:
    return list((await session.execute(_STALLED, {"grace": grace_seconds})).all())


async def unrelay(session: AsyncSession, ids: Sequence[int]) -> None:
    await session.execute(_UNRELAY, {"ids": list(ids)})


# An alert's stage times for alerts.latency: received, relayed (the outbox), fanned out.
_ALERT_TIMES = text(
    """
    SELECT a.id, a.event_id, a.category, a.msg_type, a.is_drill, a.issued_at, a.received_at, a.fanned_out_at,
           e.facts, (SELECT min(o.relayed_at) FROM alert_outbox o WHERE o.alert_id = a.id) AS relayed_at
    FROM alerts a JOIN alert_events e ON e.id = a.event_id
    WHERE a.id = :id
    """
)


async def alert_times(session: AsyncSession, alert_id: int) -> Any:
    """One alert's facts and stage times (None when there is no such alert)."""
    return (await session.execute(_ALERT_TIMES, {"id": alert_id})).first()


_RECEIVED = text("SELECT extract(epoch FROM received_at)::float8 FROM alerts WHERE id = :id")


async def received_epoch(session: AsyncSession, alert_id: int) -> float | None:
    """When the service received the alert's document (epoch seconds), for the fan-out's latency."""
    return (await session.execute(_RECEIVED, {"id": alert_id})).scalar()


# ---------------------------------------------------------------------------------------
# The fan-out of one alert (alerts.delivery): the alert it delivers, and its end
# ---------------------------------------------------------------------------------------

_TO_FAN_OUT = text(
    """
    SELECT a.id, a.event_id, a.msg_type, a.category, a.payload, a.is_drill, a.issued_at, a.expires_at,
           e.state AS event_state, e.facts AS event_facts
    FROM alerts a JOIN alert_events e ON e.id = a.event_id
    WHERE a.id = :id
    """
)


async def alert_to_fan_out(session: AsyncSession, alert_id: int) -> Any:
    """The alert a fan-out (or its preview, its safety checks) delivers, with its event's state
    and facts, as a mapping (None when there is no such alert)."""
    return (await session.execute(_TO_FAN_OUT, {"id": alert_id})).mappings().first()


async def mark_fanned_out(session: AsyncSession, alert_id: int) -> None:
    """The alert's fan-out finished: the outbox catch-up (:func:`stalled`) stops watching its stream entry."""
    await session.execute(text("UPDATE alerts SET fanned_out_at = now() WHERE id = :id"), {"id": alert_id})
