"""Safety checks SQL. No commits here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_checks(session: AsyncSession, key: str, alert_id: int, category: str, next_reminder_at: datetime | None,
                        resident_ids: list[int], reasons: list[str]) -> list[Any]:
    """One check per resident for this event unless they have one: the new ones' (id, resident_id, reason)."""
    return list((await session.execute(text(
        """INSERT INTO safety_checks (resident_id, event_key, alert_id, category, reason, next_reminder_at)
           SELECT r, :key, :alert_id, :cat, reason, :next
           FROM unnest(CAST(:ids AS bigint[]), CAST(:reasons AS text[])) AS x(r, reason)
           ON CONFLICT (resident_id, event_key) DO NOTHING
           RETURNING id, resident_id, reason"""),
        {"key": key, "alert_id": alert_id, "cat": category, "next": next_reminder_at,
         "ids": resident_ids, "reasons": reasons})).all())


async def answer_open_checks(session: AsyncSession, resident_id: int, status: str) -> int:
    rows = await session.execute(text(
        """UPDATE safety_checks SET answered_at = now(), answer_status = :s, next_reminder_at = NULL
           WHERE resident_id = :r AND answered_at IS NULL RETURNING id"""), {"r": resident_id, "s": status})
    return len(rows.all())


async def lock_check(session: AsyncSession, resident_id: int, check_id: int):
    """(id, answered_at) of the resident's check, locked; or None."""
    return (await session.execute(text(
        "SELECT id, answered_at FROM safety_checks WHERE id = :id AND resident_id = :r FOR UPDATE"),
        {"id": check_id, "r": resident_id})).first()


async def set_answer(session: AsyncSession, check_id: int, status: str) -> None:
    await session.execute(text(
        "UPDATE safety_checks SET answer_status = :s, answered_at = now() WHERE id = :id"),
        {"id": check_id, "s": status})


async def list_checks(session: AsyncSession, resident_id: int) -> list[Any]:
    """The resident's newest 50 checks, unanswered first."""
    return list((await session.execute(text(
        """SELECT id, event_key, alert_id, category, reason, created_at, answered_at, answer_status, reminders_sent
           FROM safety_checks WHERE resident_id = :r ORDER BY (answered_at IS NULL) DESC, created_at DESC LIMIT 50"""),
        {"r": resident_id})).all())


async def claim_due(session: AsyncSession, now: datetime, batch: int) -> list[Any]:
    """Unanswered checks with a reminder due, locked (SKIP LOCKED)."""
    return list((await session.execute(text(
        """SELECT id, resident_id, event_key, reason, reminders_sent FROM safety_checks
           WHERE answered_at IS NULL AND next_reminder_at IS NOT NULL AND next_reminder_at <= :now
           ORDER BY next_reminder_at LIMIT :batch FOR UPDATE SKIP LOCKED"""), {"now": now, "batch": batch})).all())


async def advance_reminders(session: AsyncSession, ids: list[int], now: datetime, intervals: Sequence[int]) -> None:
    """Count one more reminder sent and schedule the next (none after the last interval)."""
    await session.execute(text(
        """UPDATE safety_checks c SET reminders_sent = c.reminders_sent + 1,
             next_reminder_at = CASE WHEN c.reminders_sent + 1 < :n_intervals
                                     THEN CAST(:now AS timestamptz) + make_interval(mins => (CAST(:intervals AS int[]))[c.reminders_sent + 2])
                                     END
           WHERE c.id = ANY(CAST(:ids AS bigint[]))"""),
        {"ids": ids, "now": now, "n_intervals": len(intervals), "intervals": list(intervals)})


async def pending_of(session: AsyncSession, key: str, resident_ids: list[int]) -> set[int]:
    """Those of ``resident_ids`` with an unanswered check for this event."""
    if not resident_ids:
        return set()
    rows = await session.execute(text(
        """SELECT resident_id FROM safety_checks
           WHERE event_key = :key AND answered_at IS NULL AND resident_id = ANY(CAST(:ids AS bigint[]))"""),
        {"key": key, "ids": resident_ids})
    return {r[0] for r in rows}


async def export_rows(session: AsyncSession, resident_id: int) -> list[dict]:
    """The resident's checks, for their export."""
    return [dict(r._mapping) for r in await session.execute(text(
        """SELECT id, event_key, category, reason, created_at, answered_at, answer_status,
                  reminders_sent FROM safety_checks WHERE resident_id = :r ORDER BY id"""), {"r": resident_id})]


async def count_unanswered(session: AsyncSession, resident_ids: list[int]) -> int:
    """Safety checks of these residents still unanswered."""
    return (await session.execute(
        text("SELECT count(*) FROM safety_checks WHERE resident_id = ANY(CAST(:ids AS bigint[])) AND answered_at IS NULL"),
        {"ids": resident_ids})).scalar_one()


async def answers(session: AsyncSession, event_key: str | None) -> tuple[list[int], list[str]]:
    """(resident ids, answers) of every safety check (of the event; None: all), 'unanswered' for
    one not answered: counts are made from them, never who."""
    rows = (await session.execute(
        text("SELECT resident_id, COALESCE(answer_status, 'unanswered') FROM safety_checks "
             "WHERE CAST(:event AS text) IS NULL OR event_key = :event"),
        {"event": event_key})).all()
    return [r[0] for r in rows], [r[1] for r in rows]
