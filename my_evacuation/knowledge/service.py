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
from sqlalchemy.ext.asyncio import AsyncSession

from geo.shelters import repository as shelter_reads
from my_evacuation.config import get_config
from my_evacuation.i18n import resolve_language, t
from my_evacuation.knowledge import repository as repo
from my_evacuation.notify import NotificationItem, enqueue_notification
from my_evacuation.plans import repository as plans_repo
from my_evacuation.push import repository as push_repo
from my_evacuation.residents import repository as residents_repo

JST = ZoneInfo("Asia/Tokyo")
CONTENT = Path(__file__).resolve().parent / "content" / "tips.json"
BATCH = 1000

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
    d = await repo.get_subscription(session, resident_id)
    if d is None:
        return {"tips": False, "reminders": True, "quiet_start_hour": None, "quiet_end_hour": None}
    return {k: d[k] for k in ("tips", "reminders", "quiet_start_hour", "quiet_end_hour")}


async def set_subscription(session: AsyncSession, resident_id: int, body: dict) -> dict:
    await repo.set_subscription(session, resident_id, body)
    return await get_subscription(session, resident_id)


async def send_tips(session: AsyncSession, now: datetime) -> int:
    """One tip to each opted-in resident whose last tip is older than the interval, unless it
    is their quiet time (they get it at the next run after it ends)."""
    local = now.astimezone(JST)
    due_before = now - timedelta(days=get_config().tip_interval_days)
    rows = await repo.claim_due_tips(session, due_before, local.hour, BATCH)
    langs = await residents_repo.languages(session, [r.resident_id for r in rows])
    by_tip: dict[str, list] = {}
    for r in rows:
        by_tip.setdefault(next_tip(r.last_tip_id, local.month)["id"], []).append(r)
    tip_by_id = {tp["id"]: tp for tp in tips()}
    for tip_id, group in by_tip.items():
        tp = tip_by_id[tip_id]
        items = [NotificationItem(resident_id=r.resident_id, title=t(langs.get(r.resident_id), "tip_title"),
                                  body=tip_text(tp, langs.get(r.resident_id) or "ja"),
                                  data={"kind": "tip", "tip_id": tip_id}) for r in group]
        await enqueue_notification(session, items, kind="tip", dedupe_key=f"tip:{tip_id}:{local.date().isoformat()}")
        await repo.mark_tip_sent(session, tip_id, now, [r.resident_id for r in group])
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
        # Residents with a plan, page by page; of them those open to reminders now and not
        # reminded this year yet.
        page = await plans_repo.residents_with_plans(session, after, BATCH)
        if not page:
            return total
        after = page[-1]
        ids = await repo.open_to_reminders(session, page, local.hour)
        ids = await push_repo.without_notification(session, ids, key)
        if not ids:
            continue
        langs = await residents_repo.languages(session, ids)
        items = [NotificationItem(resident_id=r, title=t(langs.get(r), "plan_review_title"),
                                  body=t(langs.get(r), "plan_review_rainy"), data={"kind": "plan_review"}) for r in ids]
        total += await enqueue_notification(session, items, kind="plan_review", dedupe_key=key)


def _fingerprint(shelter: dict | None) -> str:
    if shelter is None:
        return "gone"
    raw = f"{sorted(shelter['hazards'] or [])}|{shelter['is_emergency_site']}|{shelter['is_evacuation_center']}"
    return hashlib.sha1(raw.encode()).hexdigest()[:16]


async def check_shelter_changes(session: AsyncSession, now: datetime) -> int:
    """Compare each shelter named in a current plan with what was seen last time; a changed
    designation (hazards, site/centre flags) or a shelter gone from the registry prompts a
    review. A shelter seen for the first time is only recorded."""
    rows = await plans_repo.current_plan_shelters(session)
    shelters = await shelter_reads.by_ids(session, sorted({r.shelter_id for r in rows}))
    residents = sorted({r.resident_id for r in rows})
    langs = await residents_repo.languages(session, residents)
    wants = await repo.reminders_wanted(session, residents)
    reminded = 0
    for r in rows:
        shelter = shelters.get(r.shelter_id)
        fp = _fingerprint(shelter)
        if r.fingerprint == fp:
            continue
        await plans_repo.record_shelter_seen(session, r.plan_id, r.shelter_id, fp, now)
        if r.fingerprint is None or not wants[r.resident_id]:
            continue
        language = langs.get(r.resident_id)
        item = NotificationItem(resident_id=r.resident_id, title=t(language, "plan_review_title"),
                                body=t(language, "plan_review_shelter", shelter=(shelter or {}).get("name") or r.shelter_id),
                                data={"kind": "plan_review", "shelter_id": r.shelter_id})
        reminded += await enqueue_notification(session, [item], kind="plan_review",
                                               dedupe_key=f"plan-review:shelter:{r.plan_id}:{r.shelter_id}:{fp}")
    return reminded
