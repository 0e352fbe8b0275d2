"""Knowledge subscriptions SQL (tips opt-in, reminders, quiet hours). No commits here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Residents not in quiet hours now (local hours; a window may wrap midnight, e.g. 22 → 7).
_AWAKE = """(k.quiet_start_hour IS NULL OR k.quiet_end_hour IS NULL OR NOT (
    CASE WHEN k.quiet_start_hour <= k.quiet_end_hour
         THEN :hour >= k.quiet_start_hour AND :hour < k.quiet_end_hour
         ELSE :hour >= k.quiet_start_hour OR :hour < k.quiet_end_hour END))"""


async def get_subscription(session: AsyncSession, resident_id: int) -> dict | None:
    row = (await session.execute(text("SELECT * FROM knowledge_subscriptions WHERE resident_id = :r"),
                                 {"r": resident_id})).first()
    return dict(row._mapping) if row else None


async def set_subscription(session: AsyncSession, resident_id: int, body: dict) -> None:
    await session.execute(text(
        """INSERT INTO knowledge_subscriptions (resident_id, tips, reminders, quiet_start_hour, quiet_end_hour)
           VALUES (:r, :tips, :reminders, :qs, :qe)
           ON CONFLICT (resident_id) DO UPDATE SET tips = EXCLUDED.tips, reminders = EXCLUDED.reminders,
             quiet_start_hour = EXCLUDED.quiet_start_hour, quiet_end_hour = EXCLUDED.quiet_end_hour,
             updated_at = now()"""),
        {"r": resident_id, "tips": body["tips"], "reminders": body["reminders"], "qs": body["quiet_start_hour"],
         "qe": body["quiet_end_hour"]})


async def claim_due_tips(session: AsyncSession, due_before: datetime, hour: int, batch: int) -> list[Any]:
    """Opted-in residents whose last tip is due and who are not in quiet hours at local
    ``hour``: (resident_id, last_tip_id), locked (SKIP LOCKED)."""
    return list((await session.execute(text(
        f"""SELECT k.resident_id, k.last_tip_id FROM knowledge_subscriptions k
            WHERE k.tips AND (k.last_tip_at IS NULL OR k.last_tip_at <= :due) AND {_AWAKE}
            ORDER BY k.resident_id LIMIT :batch FOR UPDATE OF k SKIP LOCKED"""),
        {"due": due_before, "hour": hour, "batch": batch})).all())


async def mark_tip_sent(session: AsyncSession, tip_id: str, now: datetime, resident_ids: list[int]) -> None:
    await session.execute(text(
        "UPDATE knowledge_subscriptions SET last_tip_id = :t, last_tip_at = :now WHERE resident_id = ANY(CAST(:ids AS bigint[]))"),
        {"t": tip_id, "now": now, "ids": resident_ids})


async def open_to_reminders(session: AsyncSession, resident_ids: Sequence[int], hour: int) -> list[int]:
    """Those of ``resident_ids`` (in order) who have not turned reminders off and are not in
    quiet hours at local ``hour`` (no subscription row: reminders on, no quiet hours)."""
    if not resident_ids:
        return []
    closed = {r[0] for r in await session.execute(text(
        f"""SELECT k.resident_id FROM knowledge_subscriptions k
            WHERE k.resident_id = ANY(CAST(:ids AS bigint[])) AND NOT (k.reminders AND {_AWAKE})"""),
        {"ids": list(resident_ids), "hour": hour})}
    return [r for r in resident_ids if r not in closed]


async def reminders_wanted(session: AsyncSession, resident_ids: Sequence[int]) -> dict[int, bool]:
    """resident -> whether they want plan-review reminders (absent: not subscribed, so yes)."""
    if not resident_ids:
        return {}
    rows = await session.execute(
        text("SELECT resident_id, reminders FROM knowledge_subscriptions WHERE resident_id = ANY(CAST(:ids AS bigint[]))"),
        {"ids": list(resident_ids)})
    wanted = {r[0]: r[1] is not False for r in rows}  # COALESCE(reminders, true)
    return {r: wanted.get(r, True) for r in resident_ids}


async def export_rows(session: AsyncSession, resident_id: int) -> list[dict]:
    """The resident's subscription (0 or 1 row), for their export."""
    return [dict(r._mapping) for r in await session.execute(
        text("SELECT * FROM knowledge_subscriptions WHERE resident_id = :r"), {"r": resident_id})]
