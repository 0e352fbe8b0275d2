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
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from my_evacuation.guidance import place_codes
from alerts import facts as alert_facts
from my_evacuation.config import MyEvacuationSettings, get_config
from my_evacuation.family import repository as family_repo
from my_evacuation.family.schemas import StatusIn, StatusOut
from my_evacuation.family.statuses import get_own, render_status, set_status
from my_evacuation.i18n import join_list, t
from my_evacuation.notify import NotificationItem, enqueue_notification
from my_evacuation.places import repository as places_repo
from my_evacuation.residents import repository as residents_repo
from my_evacuation.safety import repository as repo
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


# What the fan-out recorded for a resident and an alert (alerts.delivery's ``deliveries``):
# resident → (the place ids it matched, whether it matched the current location).
FanoutMatches = Mapping[int, tuple[Iterable[int] | None, bool | None]]


async def _places(session: AsyncSession, resident_ids: list[int],
                  fanout: FanoutMatches | None = None) -> tuple[dict[int, list[dict[str, Any]]], set[int]]:
    """(resident → places this alert may concern, residents whose places the fan-out matched).

    When the fan-out recorded which places this alert matched (``deliveries.place_ids``, passed
    in as ``fanout``), only those count; otherwise (a direct call, a simulation) every place
    does and the codes decide."""
    matched: dict[int, tuple[set[int], bool]] = {}
    given = [(rid, fanout[rid]) for rid in resident_ids if rid in fanout] if fanout is not None else []
    for rid, (place_ids, current_location) in given:
        if place_ids or current_location:
            matched[rid] = (set(place_ids or []), bool(current_location))
    rows = await places_repo.for_safety_checks(session, resident_ids)
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


def _reason_at(alert: dict[str, Any], docs: alert_facts.DocFacts, cat: str, places: list[dict[str, Any]],
               by_fanout: bool, cfg: MyEvacuationSettings, area_reason: str | None = None) -> str | None:
    """The reason this alert is strong enough at one of these places, or None. ``docs``: the
    document's facts, read once by the caller (it asks for every resident told)."""
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
        f = alert_facts.facts_at(docs, place_codes(place, cat))
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
                      only_watching: set[int] | None = None, fanout: FanoutMatches | None = None) -> dict[int, str]:
    """resident → reason key ("intensity:5+", "tsunami:warning", "evacuation:4", "civil_protection")
    for the residents this alert is strong enough for at one of their own places. Residents for
    whom it is strong only at a watched (``family``) place are added to ``only_watching``."""
    cat = _strong_kind(alert, cfg)
    if cat is None or not resident_ids:
        return {}
    out: dict[int, str] = {}
    # An evacuation order's level is the document's: worked out once, not per resident.
    docs = alert_facts.doc_facts(alert)
    area_reason = f"evacuation:{alert_facts.facts_at(docs, None).action_level}" if cat == "evacuation" else None
    for i in range(0, len(resident_ids), CHUNK):
        chunk = resident_ids[i:i + CHUNK]
        places, by_fanout = await _places(session, chunk, fanout)
        for rid in chunk:
            mine = places.get(rid, [])
            own = [p for p in mine if p["kind"] not in WATCHED_KINDS]
            reason = _reason_at(alert, docs, cat, own, rid in by_fanout, cfg, area_reason)
            if reason is not None:
                out[rid] = reason
            elif only_watching is not None and _reason_at(
                    alert, docs, cat, [p for p in mine if p["kind"] in WATCHED_KINDS], rid in by_fanout, cfg, area_reason):
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


async def start_checks_for_alert(session: AsyncSession, alert_id: int, resident_ids: list[int], alert: dict,
                                 fanout: FanoutMatches | None = None) -> int:
    """Start one check per (resident, alert event) for the residents this alert is strong enough
    for, and queue the one-tap prompt. Idempotent: an update of the same event adds nobody
    who already has a check. Returns how many checks were new. ``fanout``: what the fan-out
    matched for these residents (their deliveries' place_ids and current_location)."""
    cfg = get_config()
    watching: set[int] = set()
    reasons = await reasons_for(session, sorted(set(resident_ids)), alert, cfg, alert_id, watching, fanout)
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
        rows = await repo.insert_checks(session, key, alert_id, alert.get("category") or "other", first_reminder,
                                        chunk, [reasons[r] for r in chunk])
        if not rows:
            continue
        created += len(rows)
        langs = await residents_repo.languages(session, [r.resident_id for r in rows])
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
    rows = await family_repo.watched_members(session, watcher_ids)
    by_watcher: dict[int, list] = defaultdict(list)
    for r in rows:
        by_watcher[r.watcher].append(r)
    langs = await residents_repo.languages(session, list(by_watcher))
    items = []
    for watcher, members in by_watcher.items():
        if watcher not in langs:
            continue
        members.sort(key=lambda m: (m.group_id, m.joined_at, m.member))
        lang = langs[watcher]
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
    return await repo.answer_open_checks(session, resident_id, status)


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
    row = await repo.lock_check(session, resident_id, check_id)
    if row is None:
        raise NotFound(f"safety check {check_id} not found")
    if row.answered_at is not None:
        cur = await get_own(session, resident_id)
        if _same_answer(cur, body):
            return cur, False, False
        out = await set_status(session, resident_id, body)
        await repo.set_answer(session, check_id, body.status)
        return out, False, True
    out = await set_status(session, resident_id, body)
    await answer_open_checks(session, resident_id, body.status)
    return out, True, True


async def list_checks(session: AsyncSession, resident_id: int, language: str | None = None) -> list[dict]:
    """The resident's checks, reasons written in their language (theirs when not given)."""
    if language is None:
        language = await residents_repo.language(session, resident_id)
    rows = await repo.list_checks(session, resident_id)
    return [{**dict(r._mapping), "reason_text": render_reason(language or "ja", r.reason)} for r in rows]


async def send_due_reminders(session: AsyncSession, *, now: datetime | None = None, batch: int = 1000) -> int:
    """Remind unanswered checks that are due, and tell their families who has not answered.
    Safe to run concurrently (SKIP LOCKED); returns how many reminders were queued."""
    cfg = get_config()
    now = now or datetime.now(UTC)
    due = await repo.claim_due(session, now, batch)
    if not due:
        return 0
    langs = await residents_repo.languages(session, [d.resident_id for d in due])
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
    await repo.advance_reminders(session, [d.id for d in due], now, intervals)
    return len(due)


async def _tell_families(session: AsyncSession, key: str, round_no: int, reminded: list[int]) -> None:
    rows = await family_repo.members_of_groups_of(session, reminded)
    member_ids = sorted({r.resident_id for r in rows})
    waiting = await repo.pending_of(session, key, member_ids)
    langs = await residents_repo.languages(session, member_ids)
    groups: dict[int, list] = defaultdict(list)
    for r in rows:
        if r.resident_id in langs:
            groups[r.group_id].append(r)
    for gid, members in groups.items():
        pending = [m.display_name for m in members if m.resident_id in waiting]
        if not pending:
            continue
        items = [NotificationItem(
            resident_id=m.resident_id, title=t(langs[m.resident_id], "family_pending_title"),
            body=t(langs[m.resident_id], "family_pending_body", names=join_list(langs[m.resident_id], pending)),
            data={"kind": PENDING_KIND, "group_id": str(gid)},
        ) for m in members if m.resident_id not in waiting]
        await enqueue_notification(session, items, kind=PENDING_KIND, dedupe_key=f"safety-pending:{key}:{gid}:{round_no}")
