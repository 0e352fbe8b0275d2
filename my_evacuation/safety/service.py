"""Safety checks (安否確認): a strong event in a resident's area asks "Are you safe?" once per
(resident, event), reminds at growing intervals, and tells the family who has not answered.

What counts as strong is configurable (``BOUSAI_MYEVAC_CHECK_*``): by default 震度5弱 or more
observed in the area of one of the resident's places, a tsunami warning or major warning
for the 津波予報区 of one of their places, an evacuation notice of level 4 (避難指示) or more,
and any J-ALERT civil-protection message. Never commits.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from my_evacuation.guidance import place_codes
from server import alert_facts
from my_evacuation.config import MyEvacuationSettings, get_config
from my_evacuation.family.schemas import StatusIn, StatusOut
from my_evacuation.family.statuses import set_status
from my_evacuation.i18n import join_list, t
from my_evacuation.notify import NotificationItem, enqueue_notification
from server.errors import NotFound

log = structlog.get_logger()

PROMPT_KIND = "safety_check"
REMINDER_KIND = "safety_reminder"
PENDING_KIND = "safety_pending"
# Residents per statement when reading places / inserting checks: bounded parameter arrays.
CHUNK = 5000


def event_key(alert_id: int, alert: dict[str, Any]) -> str:
    """One check per member per event: JMA EventID / CAP first identifier, whatever the update."""
    if alert.get("event_id"):
        return f"{alert.get('source') or 'alert'}:{alert['event_id']}"
    return f"alert:{alert_id}"


async def _place_codes(session: AsyncSession, resident_ids: list[int]) -> dict[int, list[dict[str, str | None]]]:
    rows = await session.execute(text(
        """SELECT resident_id, quake_area_code, jma_city_code, tsunami_area_code FROM places
           WHERE resident_id = ANY(CAST(:ids AS bigint[])) AND (kind <> 'current' OR expires_at > now())"""),
        {"ids": resident_ids})
    codes: dict[int, list[dict[str, str | None]]] = defaultdict(list)
    for r in rows:
        codes[r.resident_id].append(dict(r._mapping))
    return codes


async def reasons_for(session: AsyncSession, resident_ids: list[int], alert: dict[str, Any],
                      cfg: MyEvacuationSettings) -> dict[int, str]:
    """resident → reason key ("intensity:5+", "tsunami:warning", "evacuation:4", "civil_protection")
    for the residents this alert is strong enough for."""
    if alert.get("is_drill") or alert.get("msg_type") == "cancel" or not resident_ids:
        return {}
    cat = alert.get("category")
    if cat == "civil_protection":
        return {r: "civil_protection" for r in resident_ids} if cfg.check_civil_protection else {}
    if cat == "evacuation":
        level = alert_facts.facts_at(alert, None).action_level
        if level is not None and level >= cfg.check_min_evacuation_level:
            return {r: f"evacuation:{level}" for r in resident_ids}
        return {}
    if cat not in ("earthquake", "tsunami"):
        return {}
    out: dict[int, str] = {}
    min_rank = alert_facts.INTENSITY_RANK[cfg.check_min_intensity]
    for i in range(0, len(resident_ids), CHUNK):
        chunk = resident_ids[i:i + CHUNK]
        codes = await _place_codes(session, chunk)
        for rid in chunk:
            best: alert_facts.AreaFacts | None = None
            for place in codes.get(rid, []):
                # The place's own city, else its area: never the document's maximum.
                f = alert_facts.facts_at(alert, place_codes(place, cat))
                if f.rank and (best is None or f.rank > best.rank):
                    best = f
            if best is None:
                continue
            if cat == "earthquake":
                inten = best.intensity or (alert_facts.UNRECEIVED_LOWER_BOUND if best.intensity_unreceived else None)
                if inten is not None and alert_facts.INTENSITY_RANK[inten] >= min_rank:
                    out[rid] = f"intensity:{inten}"
            elif best.tsunami_grade in cfg.check_tsunami_grades:
                out[rid] = f"tsunami:{best.tsunami_grade}"
    return out


def render_reason(language: str, reason: str) -> str:
    kind, _, value = reason.partition(":")
    if kind == "intensity":
        label = t(language, f"intensity_{value}") if value in ("5-", "5+", "6-", "6+") else value
        return t(language, "reason_intensity", intensity=label)
    if kind == "tsunami":
        return t(language, "reason_tsunami", grade=t(language, f"tsunami_{value}"))
    if kind == "evacuation":
        return t(language, "reason_evacuation", level=value)
    return t(language, "reason_civil_protection")


async def _languages(session: AsyncSession, resident_ids: list[int]) -> dict[int, str]:
    rows = await session.execute(text("SELECT id, language FROM residents WHERE id = ANY(CAST(:ids AS bigint[]))"),
                                 {"ids": resident_ids})
    return {r.id: r.language for r in rows}


async def start_checks_for_alert(session: AsyncSession, alert_id: int, resident_ids: list[int], alert: dict) -> int:
    """Start one check per (resident, alert event) for the residents this alert is strong enough
    for, and queue the one-tap prompt. Idempotent: an update of the same event adds nobody
    who already has a check. Returns how many checks were new."""
    cfg = get_config()
    reasons = await reasons_for(session, sorted(set(resident_ids)), alert, cfg)
    if not reasons:
        return 0
    key = event_key(alert_id, alert)
    first_reminder = datetime.now(UTC) + timedelta(minutes=cfg.reminder_minutes[0]) if cfg.reminder_minutes else None
    created = 0
    ids = sorted(reasons)
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        rows = (await session.execute(text(
            """INSERT INTO safety_checks (resident_id, event_key, alert_id, category, reason, next_reminder_at)
               SELECT r, :key, :alert_id, :cat, reason, :next
               FROM unnest(CAST(:ids AS bigint[]), CAST(:reasons AS text[])) AS x(r, reason)
               ON CONFLICT (resident_id, event_key) DO NOTHING
               RETURNING id, resident_id, reason"""),
            {"key": key, "alert_id": alert_id, "cat": alert.get("category") or "other", "next": first_reminder,
             "ids": chunk, "reasons": [reasons[r] for r in chunk]})).all()
        if not rows:
            continue
        created += len(rows)
        langs = await _languages(session, [r.resident_id for r in rows])
        items = [NotificationItem(
            resident_id=r.resident_id,
            title=t(langs.get(r.resident_id), "safety_check_title"),
            body=t(langs.get(r.resident_id), "safety_check_body", reason=render_reason(langs.get(r.resident_id), r.reason)),
            data={"kind": PROMPT_KIND, "check_id": str(r.id)},
        ) for r in rows]
        await enqueue_notification(session, items, kind=PROMPT_KIND, dedupe_key=f"safety-check:{key}")
    log.info("my_evacuation.safety.checks_started", alert_id=alert_id, event_key=key, created=created,
             offered=len(resident_ids))
    return created


async def answer_open_checks(session: AsyncSession, resident_id: int, status: str) -> int:
    rows = await session.execute(text(
        """UPDATE safety_checks SET answered_at = now(), answer_status = :s, next_reminder_at = NULL
           WHERE resident_id = :r AND answered_at IS NULL RETURNING id"""), {"r": resident_id, "s": status})
    return len(rows.all())


async def answer_check(session: AsyncSession, resident_id: int, check_id: int, body: StatusIn) -> tuple[StatusOut | None, bool]:
    """The one-tap answer. Returns (status, newly answered). A repeated tap changes nothing and
    notifies nobody again."""
    row = (await session.execute(text(
        "SELECT id, answered_at FROM safety_checks WHERE id = :id AND resident_id = :r FOR UPDATE"),
        {"id": check_id, "r": resident_id})).first()
    if row is None:
        raise NotFound(f"safety check {check_id} not found")
    if row.answered_at is not None:
        from my_evacuation.family.statuses import get_own

        return await get_own(session, resident_id), False
    out = await set_status(session, resident_id, body)
    await answer_open_checks(session, resident_id, body.status)
    return out, True


async def list_checks(session: AsyncSession, resident_id: int, language: str | None) -> list[dict]:
    rows = await session.execute(text(
        """SELECT id, event_key, alert_id, category, reason, created_at, answered_at, answer_status, reminders_sent
           FROM safety_checks WHERE resident_id = :r ORDER BY (answered_at IS NULL) DESC, created_at DESC LIMIT 50"""),
        {"r": resident_id})
    return [{**dict(r._mapping), "reason_text": render_reason(language or "ja", r.reason)} for r in rows]


async def send_due_reminders(session: AsyncSession, *, now: datetime | None = None, batch: int = 1000) -> int:
    """Remind unanswered checks that are due, and tell their families who has not answered.
    Safe to run concurrently (SKIP LOCKED); returns how many reminders were queued."""
    cfg = get_config()
    now = now or datetime.now(UTC)
    due = (await session.execute(text(
        """SELECT id, resident_id, event_key, reason, reminders_sent FROM safety_checks
           WHERE answered_at IS NULL AND next_reminder_at IS NOT NULL AND next_reminder_at <= :now
           ORDER BY next_reminder_at LIMIT :batch FOR UPDATE SKIP LOCKED"""), {"now": now, "batch": batch})).all()
    if not due:
        return 0
    langs = await _languages(session, [d.resident_id for d in due])
    by_round: dict[tuple[str, int], list] = defaultdict(list)
    for d in due:
        by_round[(d.event_key, d.reminders_sent + 1)].append(d)
    for (key, n), checks in by_round.items():
        items = [NotificationItem(
            resident_id=c.resident_id, title=t(langs.get(c.resident_id), "safety_check_title"),
            body=t(langs.get(c.resident_id), "safety_reminder_body", reason=render_reason(langs.get(c.resident_id), c.reason)),
            data={"kind": REMINDER_KIND, "check_id": str(c.id), "reminder": str(n)},
        ) for c in checks]
        await enqueue_notification(session, items, kind=REMINDER_KIND, dedupe_key=f"safety-reminder:{key}:{n}")
        await _tell_families(session, key, n, [c.resident_id for c in checks])
    intervals = cfg.reminder_minutes
    await session.execute(text(
        """UPDATE safety_checks c SET reminders_sent = c.reminders_sent + 1,
             next_reminder_at = CASE WHEN c.reminders_sent + 1 < :n_intervals
                                     THEN CAST(:now AS timestamptz) + make_interval(mins => (CAST(:intervals AS int[]))[c.reminders_sent + 2])
                                     END
           WHERE c.id = ANY(CAST(:ids AS bigint[]))"""),
        {"ids": [d.id for d in due], "now": now, "n_intervals": len(intervals), "intervals": intervals})
    return len(due)


async def _tell_families(session: AsyncSession, key: str, round_no: int, reminded: list[int]) -> None:
    rows = (await session.execute(text(
        """SELECT fm.group_id, fm.resident_id, fm.display_name, r.language,
                  (sc.id IS NOT NULL AND sc.answered_at IS NULL) AS pending
           FROM family_members fm
           JOIN residents r ON r.id = fm.resident_id
           LEFT JOIN safety_checks sc ON sc.resident_id = fm.resident_id AND sc.event_key = :key
           WHERE fm.group_id IN (SELECT group_id FROM family_members WHERE resident_id = ANY(CAST(:ids AS bigint[])))
           ORDER BY fm.group_id, fm.joined_at, fm.resident_id"""), {"key": key, "ids": reminded})).all()
    groups: dict[int, list] = defaultdict(list)
    for r in rows:
        groups[r.group_id].append(r)
    for gid, members in groups.items():
        pending = [m.display_name for m in members if m.pending]
        if not pending:
            continue
        items = [NotificationItem(
            resident_id=m.resident_id, title=t(m.language, "family_pending_title"),
            body=t(m.language, "family_pending_body", names=join_list(m.language, pending)),
            data={"kind": PENDING_KIND, "group_id": str(gid)},
        ) for m in members if not m.pending]
        await enqueue_notification(session, items, kind=PENDING_KIND, dedupe_key=f"safety-pending:{key}:{gid}:{round_no}")
