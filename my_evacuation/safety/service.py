"""Safety checks (安否確認): a strong event in a resident's area asks "Are you safe?" once per
(resident, event), reminds at growing intervals, and tells the family who has not answered.

What counts as strong is configurable (``BOUSAI_MYEVAC_CHECK_*``): by default 震度5弱 or more
observed in the area of one of the resident's places, a tsunami warning or major warning
for the 津波予報区 of one of their places, an evacuation notice of level 4 (避難指示) or more,
and any J-ALERT civil-protection message. Never commits.

Only a resident's *own* places count — home, work, school, other and the current location:
someone in Tokyo whose only place in the area is a relative's home (``family``) is watching,
not in danger. They are not asked "Are you safe?"; they are told how their family is doing
(each member's status, or that they have not answered yet) and then hear every answer as it
comes, like any member. Which places an alert reached is the fan-out's own answer when there
is one (the delivery's ``place_ids``), else the places' area codes.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from my_evacuation.guidance import place_codes
from alerts import facts as alert_facts
from my_evacuation.config import MyEvacuationSettings, get_config
from my_evacuation.family.schemas import StatusIn, StatusOut
from my_evacuation.family.statuses import get_own, render_status, set_status
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


# A relative's home is watched, not lived in: it never starts a check for the watcher.
WATCHED_KINDS = ("family",)


async def _places(session: AsyncSession, resident_ids: list[int],
                  alert_id: int | None) -> tuple[dict[int, list[dict[str, Any]]], set[int]]:
    """(resident → places this alert may concern, residents whose places the fan-out matched).

    When the fan-out recorded which places this alert matched (``deliveries.place_ids``), only
    those count; otherwise (a direct call, a simulation) every place does and the codes decide."""
    matched: dict[int, tuple[set[int], bool]] = {}
    if alert_id is not None:
        for r in await session.execute(text(
                """SELECT resident_id, place_ids, current_location FROM deliveries
                   WHERE last_alert_id = :a AND resident_id = ANY(CAST(:ids AS bigint[]))"""),
                {"a": alert_id, "ids": resident_ids}):
            if r.place_ids or r.current_location:
                matched[r.resident_id] = (set(r.place_ids or []), bool(r.current_location))
    rows = await session.execute(text(
        """SELECT id, resident_id, kind, quake_area_code, jma_city_code, tsunami_area_code, municipality_code,
                  jma_matome_code, jma_first_code, jma_pref_code FROM places
           WHERE resident_id = ANY(CAST(:ids AS bigint[])) AND (kind <> 'current' OR expires_at > now())"""),
        {"ids": resident_ids})
    places: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        hit = matched.get(r.resident_id)
        if hit is not None and r.id not in hit[0] and not (r.kind == "current" and hit[1]):
            continue  # the fan-out says this alert did not reach this place
        places[r.resident_id].append(dict(r._mapping))
    return places, set(matched)


def _strong_kind(alert: dict[str, Any], cfg: MyEvacuationSettings) -> str | None:
    """Which rule could make this alert start checks at all (before looking at anyone's places)."""
    if alert.get("is_drill") or alert.get("msg_type") == "cancel":
        return None
    cat = alert.get("category")
    if cat == "civil_protection":
        return cat if cfg.check_civil_protection else None
    if cat == "evacuation":
        level = alert_facts.facts_at(alert, None).action_level
        return cat if level is not None and level >= cfg.check_min_evacuation_level else None
    return cat if cat in ("earthquake", "tsunami") else None


def _reason_at(alert: dict[str, Any], cat: str, places: list[dict[str, Any]], by_fanout: bool,
               cfg: MyEvacuationSettings, area_reason: str | None = None) -> str | None:
    """The reason this alert is strong enough at one of these places, or None."""
    if not places:
        return None
    if cat in ("civil_protection", "evacuation"):
        # An area-wide order reaches the places the fan-out matched, else those its areas name
        # (a document naming no area reached whoever it was offered to).
        codes = {a.get("code") for a in alert.get("areas") or []}
        if not (by_fanout or not codes or any(c in codes for p in places for c in place_codes(p, cat))):
            return None
        return "civil_protection" if cat == "civil_protection" else area_reason
    best: alert_facts.AreaFacts | None = None
    for place in places:
        # The place's own city, else its area: never the document's maximum.
        f = alert_facts.facts_at(alert, place_codes(place, cat))
        if f.rank and (best is None or f.rank > best.rank):
            best = f
    if best is None:
        return None
    if cat == "earthquake":
        inten = best.intensity or (alert_facts.UNRECEIVED_LOWER_BOUND if best.intensity_unreceived else None)
        if inten is not None and alert_facts.INTENSITY_RANK[inten] >= alert_facts.INTENSITY_RANK[cfg.check_min_intensity]:
            return f"intensity:{inten}"
        return None
    return f"tsunami:{best.tsunami_grade}" if best.tsunami_grade in cfg.check_tsunami_grades else None


async def reasons_for(session: AsyncSession, resident_ids: list[int], alert: dict[str, Any],
                      cfg: MyEvacuationSettings, alert_id: int | None = None,
                      only_watching: set[int] | None = None) -> dict[int, str]:
    """resident → reason key ("intensity:5+", "tsunami:warning", "evacuation:4", "civil_protection")
    for the residents this alert is strong enough for at one of their own places. Residents for
    whom it is strong only at a watched (``family``) place are added to ``only_watching``."""
    cat = _strong_kind(alert, cfg)
    if cat is None or not resident_ids:
        return {}
    out: dict[int, str] = {}
    # An evacuation order's level is the document's: worked out once, not per resident.
    area_reason = f"evacuation:{alert_facts.facts_at(alert, None).action_level}" if cat == "evacuation" else None
    for i in range(0, len(resident_ids), CHUNK):
        chunk = resident_ids[i:i + CHUNK]
        places, by_fanout = await _places(session, chunk, alert_id)
        for rid in chunk:
            mine = places.get(rid, [])
            own = [p for p in mine if p["kind"] not in WATCHED_KINDS]
            reason = _reason_at(alert, cat, own, rid in by_fanout, cfg, area_reason)
            if reason is not None:
                out[rid] = reason
            elif only_watching is not None and _reason_at(
                    alert, cat, [p for p in mine if p["kind"] in WATCHED_KINDS], rid in by_fanout, cfg, area_reason):
                only_watching.add(rid)
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
    watching: set[int] = set()
    reasons = await reasons_for(session, sorted(set(resident_ids)), alert, cfg, alert_id, watching)
    key = event_key(alert_id, alert)
    if watching:
        await tell_watchers(session, key, sorted(watching))
    if not reasons:
        return 0
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


WATCH_KIND = "family_watch"


async def tell_watchers(session: AsyncSession, key: str, watcher_ids: list[int]) -> int:
    """Residents an event reaches only through a relative's place are told how their family is
    doing instead of being asked "Are you safe?": each other member's status now, and who has
    not answered yet. Once per (watcher, event). Answers that come later reach them as
    ordinary family status notices."""
    if not watcher_ids:
        return 0
    rows = (await session.execute(text(
        """SELECT DISTINCT ON (me.resident_id, o.resident_id)
                  me.resident_id AS watcher, r.language, o.resident_id AS member, o.display_name,
                  s.status, s.shelter_name, s.message, o.joined_at, o.group_id
           FROM family_members me
           JOIN family_members o ON o.group_id = me.group_id AND o.resident_id <> me.resident_id
           JOIN residents r ON r.id = me.resident_id
           LEFT JOIN safety_statuses s ON s.resident_id = o.resident_id
           WHERE me.resident_id = ANY(CAST(:ids AS bigint[]))
           ORDER BY me.resident_id, o.resident_id, o.group_id"""), {"ids": watcher_ids})).all()
    by_watcher: dict[int, list] = defaultdict(list)
    for r in rows:
        by_watcher[r.watcher].append(r)
    items = []
    for watcher, members in by_watcher.items():
        members.sort(key=lambda m: (m.group_id, m.joined_at, m.member))
        lang = members[0].language
        lines = [render_status(lang, m.display_name, m.status, m.shelter_name, m.message)
                 for m in members if m.status is not None]
        pending = [m.display_name for m in members if m.status is None]
        if pending:
            lines.append(t(lang, "family_pending_body", names=join_list(lang, pending)))
        items.append(NotificationItem(resident_id=watcher, title=t(lang, "family_status_title"),
                                      body="\n".join(lines), data={"kind": WATCH_KIND, "event_key": key}))
    if items:
        await enqueue_notification(session, items, kind=WATCH_KIND, dedupe_key=f"safety-watch:{key}")
    log.info("my_evacuation.safety.watchers_told", event_key=key, watchers=len(items))
    return len(items)


async def answer_open_checks(session: AsyncSession, resident_id: int, status: str) -> int:
    rows = await session.execute(text(
        """UPDATE safety_checks SET answered_at = now(), answer_status = :s, next_reminder_at = NULL
           WHERE resident_id = :r AND answered_at IS NULL RETURNING id"""), {"r": resident_id, "s": status})
    return len(rows.all())


def _same_answer(cur: StatusOut | None, body: StatusIn) -> bool:
    if cur is None:
        return False
    loc = (body.location.lat, body.location.lon) if body.location and body.share_location else None
    cur_loc = (cur.location.lat, cur.location.lon) if cur.location else None
    return (cur.status == body.status and (cur.message or None) == (body.message or None)
            and (body.shelter_id is None or cur.shelter_id == body.shelter_id)
            and (body.shelter_name is None or cur.shelter_name == body.shelter_name) and cur_loc == loc)


async def answer_check(session: AsyncSession, resident_id: int, check_id: int,
                       body: StatusIn) -> tuple[StatusOut | None, bool, bool]:
    """The one-tap answer. Returns (status, newly answered, changed).

    A second answer that says something else (safe → need help, a new message) updates the
    status and the check's answer, and the family is told of the change like any status
    change; a repeated tap saying the same changes nothing and notifies nobody again."""
    row = (await session.execute(text(
        "SELECT id, answered_at FROM safety_checks WHERE id = :id AND resident_id = :r FOR UPDATE"),
        {"id": check_id, "r": resident_id})).first()
    if row is None:
        raise NotFound(f"safety check {check_id} not found")
    if row.answered_at is not None:
        cur = await get_own(session, resident_id)
        if _same_answer(cur, body):
            return cur, False, False
        out = await set_status(session, resident_id, body)
        await session.execute(text(
            "UPDATE safety_checks SET answer_status = :s, answered_at = now() WHERE id = :id"),
            {"id": check_id, "s": body.status})
        return out, False, True
    out = await set_status(session, resident_id, body)
    await answer_open_checks(session, resident_id, body.status)
    return out, True, True


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
