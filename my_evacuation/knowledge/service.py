"""Disaster-prevention tips (opt-in, in the resident's language, never in quiet hours) and
plan-review reminders: before the rainy season (出水期 from June) and when a shelter a plan
names changes designation or leaves the registry. Never commits."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from my_evacuation.config import get_config
from my_evacuation.i18n import resolve_language, t
from my_evacuation.notify import NotificationItem, enqueue_notification

JST = ZoneInfo("Asia/Tokyo")
CONTENT = Path(__file__).resolve().parent / "content" / "tips.json"
BATCH = 1000

# Residents not in quiet hours now (local hours; a window may wrap midnight, e.g. 22 → 7).
_AWAKE = """(k.quiet_start_hour IS NULL OR k.quiet_end_hour IS NULL OR NOT (
    CASE WHEN k.quiet_start_hour <= k.quiet_end_hour
         THEN :hour >= k.quiet_start_hour AND :hour < k.quiet_end_hour
         ELSE :hour >= k.quiet_start_hour OR :hour < k.quiet_end_hour END))"""


@lru_cache
def tips() -> list[dict]:
    return orjson.loads(CONTENT.read_bytes())


def tip_text(tip: dict, language: str) -> str:
    lang = resolve_language(language)
    return tip["texts"].get(lang) or tip["texts"].get("en") or tip["texts"]["ja"]


def next_tip(last_id: str | None, month: int) -> dict:
    """The next tip in order after the last one sent that is in season."""
    all_tips = tips()
    start = next((i + 1 for i, tp in enumerate(all_tips) if tp["id"] == last_id), 0)
    for k in range(len(all_tips)):
        tp = all_tips[(start + k) % len(all_tips)]
        if not tp["months"] or month in tp["months"]:
            return tp
    return all_tips[start % len(all_tips)]


async def get_subscription(session: AsyncSession, resident_id: int) -> dict:
    row = (await session.execute(text("SELECT * FROM knowledge_subscriptions WHERE resident_id = :r"),
                                 {"r": resident_id})).first()
    if row is None:
        return {"tips": False, "reminders": True, "quiet_start_hour": None, "quiet_end_hour": None}
    d = dict(row._mapping)
    return {k: d[k] for k in ("tips", "reminders", "quiet_start_hour", "quiet_end_hour")}


async def set_subscription(session: AsyncSession, resident_id: int, body: dict) -> dict:
    await session.execute(text(
        """INSERT INTO knowledge_subscriptions (resident_id, tips, reminders, quiet_start_hour, quiet_end_hour)
           VALUES (:r, :tips, :reminders, :qs, :qe)
           ON CONFLICT (resident_id) DO UPDATE SET tips = EXCLUDED.tips, reminders = EXCLUDED.reminders,
             quiet_start_hour = EXCLUDED.quiet_start_hour, quiet_end_hour = EXCLUDED.quiet_end_hour,
             updated_at = now()"""),
        {"r": resident_id, "tips": body["tips"], "reminders": body["reminders"], "qs": body["quiet_start_hour"],
         "qe": body["quiet_end_hour"]})
    return await get_subscription(session, resident_id)


async def send_tips(session: AsyncSession, now: datetime) -> int:
    """One tip to each opted-in resident whose last tip is older than the interval, unless it
    is their quiet time (they get it at the next run after it ends)."""
    local = now.astimezone(JST)
    due_before = now - timedelta(days=get_config().tip_interval_days)
    rows = (await session.execute(text(
        f"""SELECT k.resident_id, k.last_tip_id, r.language FROM knowledge_subscriptions k
            JOIN residents r ON r.id = k.resident_id
            WHERE k.tips AND (k.last_tip_at IS NULL OR k.last_tip_at <= :due) AND {_AWAKE}
            ORDER BY k.resident_id LIMIT :batch FOR UPDATE OF k SKIP LOCKED"""),
        {"due": due_before, "hour": local.hour, "batch": BATCH})).all()
    by_tip: dict[str, list] = {}
    for r in rows:
        by_tip.setdefault(next_tip(r.last_tip_id, local.month)["id"], []).append(r)
    tip_by_id = {tp["id"]: tp for tp in tips()}
    for tip_id, group in by_tip.items():
        tp = tip_by_id[tip_id]
        items = [NotificationItem(resident_id=r.resident_id, title=t(r.language, "tip_title"), body=tip_text(tp, r.language),
                                  data={"kind": "tip", "tip_id": tip_id}) for r in group]
        await enqueue_notification(session, items, kind="tip", dedupe_key=f"tip:{tip_id}:{local.date().isoformat()}")
        await session.execute(text(
            "UPDATE knowledge_subscriptions SET last_tip_id = :t, last_tip_at = :now WHERE resident_id = ANY(CAST(:ids AS bigint[]))"),
            {"t": tip_id, "now": now, "ids": [r.resident_id for r in group]})
    return len(rows)


def in_rainy_season_window(now: datetime) -> bool:
    cfg = get_config()
    local = now.astimezone(JST)
    start = local.replace(month=cfg.rainy_season_reminder_month, day=cfg.rainy_season_reminder_day, hour=0, minute=0,
                          second=0, microsecond=0)
    return start <= local < local.replace(month=7, day=1, hour=0, minute=0, second=0, microsecond=0)


async def send_rainy_season_reminders(session: AsyncSession, now: datetime) -> int:
    """Once a year (dedupe key per year) to every resident with a plan who has not turned
    reminders off, outside quiet hours."""
    if not in_rainy_season_window(now):
        return 0
    local = now.astimezone(JST)
    key = f"plan-review:rainy:{local.year}"
    total, after = 0, 0
    while True:
        rows = (await session.execute(text(
            f"""SELECT DISTINCT p.resident_id, r.language FROM evacuation_plans p
                JOIN residents r ON r.id = p.resident_id
                LEFT JOIN knowledge_subscriptions k ON k.resident_id = p.resident_id
                WHERE p.resident_id > :after AND COALESCE(k.reminders, true) AND {_AWAKE}
                  AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.resident_id = p.resident_id AND n.dedupe_key = :key)
                ORDER BY p.resident_id LIMIT :batch"""),
            {"after": after, "hour": local.hour, "batch": BATCH, "key": key})).all()
        if not rows:
            return total
        items = [NotificationItem(resident_id=r.resident_id, title=t(r.language, "plan_review_title"),
                                  body=t(r.language, "plan_review_rainy"), data={"kind": "plan_review"}) for r in rows]
        total += await enqueue_notification(session, items, kind="plan_review", dedupe_key=key)
        after = rows[-1].resident_id


def _fingerprint(shelter: dict | None) -> str:
    if shelter is None:
        return "gone"
    raw = f"{sorted(shelter['hazards'] or [])}|{shelter['is_emergency_site']}|{shelter['is_evacuation_center']}"
    return hashlib.sha1(raw.encode()).hexdigest()[:16]


async def check_shelter_changes(session: AsyncSession, now: datetime) -> int:
    """Compare each shelter named in a current plan with what was seen last time; a changed
    designation (hazards, site/centre flags) or a shelter gone from the registry prompts a
    review. A shelter seen for the first time is only recorded."""
    rows = (await session.execute(text(
        """SELECT p.id AS plan_id, p.resident_id, r.language, d->>'shelter_id' AS shelter_id,
                  s.name, s.hazards, s.is_emergency_site, s.is_evacuation_center, s.id IS NOT NULL AS exists,
                  w.fingerprint, COALESCE(k.reminders, true) AS wants
           FROM evacuation_plans p
           JOIN evacuation_plan_versions v ON v.plan_id = p.id AND v.version = p.current_version
           JOIN residents r ON r.id = p.resident_id
           CROSS JOIN LATERAL jsonb_array_elements(v.body->'destinations') d
           LEFT JOIN shelters s ON s.id = d->>'shelter_id'
           LEFT JOIN plan_shelter_watch w ON w.plan_id = p.id AND w.shelter_id = d->>'shelter_id'
           LEFT JOIN knowledge_subscriptions k ON k.resident_id = p.resident_id
           WHERE d->>'shelter_id' IS NOT NULL"""))).all()
    reminded = 0
    for r in rows:
        fp = _fingerprint(dict(r._mapping) if r.exists else None)
        if r.fingerprint == fp:
            continue
        await session.execute(text(
            """INSERT INTO plan_shelter_watch (plan_id, shelter_id, fingerprint, checked_at) VALUES (:p, :s, :f, :now)
               ON CONFLICT (plan_id, shelter_id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, checked_at = :now"""),
            {"p": r.plan_id, "s": r.shelter_id, "f": fp, "now": now})
        if r.fingerprint is None or not r.wants:
            continue
        item = NotificationItem(resident_id=r.resident_id, title=t(r.language, "plan_review_title"),
                                body=t(r.language, "plan_review_shelter", shelter=r.name or r.shelter_id),
                                data={"kind": "plan_review", "shelter_id": r.shelter_id})
        reminded += await enqueue_notification(session, [item], kind="plan_review",
                                               dedupe_key=f"plan-review:shelter:{r.plan_id}:{r.shelter_id}:{fp}")
    return reminded
