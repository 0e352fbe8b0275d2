"""What a resident's own plan says to do when an alert reaches one of their places.

``plan_guidance`` is called by the delivery path (alerts) for each recipient and place; it
returns one short paragraph in the resident's language, e.g.

    警戒レベル4（自宅）: 祖母は今すぐ○○小学校へ車で避難（約15分）。父、母は避難の準備を
    （警戒レベル4で避難）。持ち物: お薬手帳、水。

Who leaves now is decided by each member's ``leave_at_level`` (3 for those who need time,
高齢者等避難; 4 everyone else; 5 only for those who stay). Each member goes to the first of
their destinations meant for the hazard. A chosen shelter that is closed, full (crowding
"full", ≥ 80 %) or not designated for the hazard is named as such, and the nearest open,
suitable, not-full shelter (from the registry's nearest-suitable search) is named instead.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from geo.shelters import repository as shelter_reads
from geo.shelters import service as shelters
from geo.shelters.models import HAZARDS as SHELTER_HAZARDS
from geo.shelters.records import crowding_level
from my_evacuation.i18n import join_list, t
from alerts import facts as alert_facts
from alerts.facts import AreaFacts
from my_evacuation.places import repository as places_repo
from my_evacuation.plans import repository as plan_repo
from my_evacuation.plans.schemas import Destination, Member, PlanBody

# Items named in a push before "and more": a push body is read at a glance (and FCM caps at 4 KB).
MAX_ITEMS_NAMED = 3
MAX_PLAN_ACTIONS = 2


def place_codes(place: dict | None, category: str | None) -> list[str]:
    """A place's area codes for one alert category, most specific first (a city's own value
    before its area's; ``XXXXX00`` names the whole municipality a split city lies in)."""
    p = place or {}
    if category == "tsunami":
        return [c for c in (p.get("tsunami_area_code"),) if c]
    city = p.get("jma_city_code")
    whole = city[:5] + "00" if city else None
    if category in ("earthquake", "eew"):
        return [c for c in (city, whole, p.get("quake_area_code")) if c]
    return [c for c in (city, whole, p.get("municipality_code"), p.get("jma_matome_code"), p.get("jma_first_code"),
                        p.get("jma_pref_code")) if c]


def _action(alert: dict[str, Any], place: dict | None, facts: AreaFacts | None = None) -> tuple[int, str, str | None] | None:
    """(level 3/4/5, label key/params, hazard) the alert asks of this place, or None.

    Read from the alert facts (``alerts.facts``): the 警戒レベル of the action the
    danger at this place calls for — 噴火警戒レベル4/5 are 高齢者等避難/避難 (3/4), 噴火警戒
    レベル3 asks nothing of residents; a tsunami warning means leave now (4)."""
    if alert.get("msg_type") == "cancel" or alert.get("is_drill"):
        return None
    if facts is None:
        facts = alert_facts.facts_at(alert, place_codes(place, alert.get("category")) if place else None)
    hazard = alert_facts.hazard_of(alert, facts)
    if facts.tsunami_grade is not None or alert.get("category") == "tsunami":
        grade = facts.tsunami_grade
        if grade in ("warning", "major_warning"):
            # Everyone in a tsunami warning area leaves at once: treat as level 4 for all.
            return 4, f"tsunami_{grade}", "tsunami"
        return None
    level = facts.action_level
    if level in (3, 4, 5):
        return level, "level_label", hazard
    return None


def _leave_level(m: Member) -> int:
    if m.leave_at_level is not None:
        return m.leave_at_level
    return 3 if m.needs_help_to_move else 4


def _destination_for(m: Member, dests: dict[str, Destination], hazard: str | None) -> Destination | None:
    chosen = [dests[i] for i in m.destination_ids if i in dests]
    for d in chosen:
        if not d.hazards or (hazard is not None and hazard in d.hazards):
            return d
    return chosen[0] if chosen else None


def _distance(lang: str, metres: float) -> str:
    if metres >= 1000:
        return t(lang, "distance_km", km=f"{metres / 1000:.1f}")
    return t(lang, "distance_m", m=int(round(metres, -1)))


def _place_name(lang: str, place_kind: str, place: dict | None) -> str:
    if place_kind in ("home", "work", "school", "family"):
        return t(lang, f"place_{place_kind}")
    if place and place.get("label"):
        return t(lang, "place_labelled", label=place["label"])
    return t(lang, "place_other")


def _dest_name(lang: str, d: Destination, shelter: dict | None) -> str:
    if d.kind == "upper_floor":
        return d.name or t(lang, "dest_upper_floor")
    if shelter is not None:
        return shelter["name"]
    return d.name or d.id


def _problem(d: Destination, shelter: dict | None, hazard: str | None) -> str | None:
    """Why a chosen shelter cannot be used for this hazard now, or None."""
    if d.kind != "shelter":
        return None
    if shelter is None:
        return "gone"
    if not shelter["is_open"]:
        return "closed"
    if crowding_level(shelter.get("occupancy"), shelter.get("capacity")) == "full":
        return "full"
    if hazard in SHELTER_HAZARDS and hazard not in (shelter["hazards"] or []):
        return "unsuitable"
    return None


async def _alternative(session: AsyncSession, place: dict | None, shelter: dict | None, hazard: str | None) -> dict | None:
    origin = place or shelter
    if origin is None:
        return None
    found = await shelters.nearest(session, lat=origin["lat"], lon=origin["lon"],
                                   hazard=hazard if hazard in SHELTER_HAZARDS else None,
                                   is_open=True, available=True, limit=1)
    return found[0] if found else None


async def _find_plan(session: AsyncSession, resident_id: int, place_id: int | None, place_kind: str) -> dict | None:
    head = None
    if place_id is not None:
        head = await plan_repo.get_head(session, resident_id, place_id)
    if head is None and place_kind == "home":
        head = await plan_repo.get_head(session, resident_id, None)
    if head is None or head["current_version"] == 0:
        return None
    return await plan_repo.get_version(session, head["id"], head["current_version"])


async def plan_guidance(session: AsyncSession, resident_id: int, place_id: int | None, place_kind: str,
                        alert: dict, language: str, facts: AreaFacts | None = None) -> str | None:
    """The plan's sentence for this place and alert, or None (no plan, nothing the plan says).
    ``facts``: the danger at the place as the fan-out read it (else read from ``alert``)."""
    if place_kind == "current":
        return None
    row = await _find_plan(session, resident_id, place_id, place_kind)
    if row is None:
        return None
    plan = PlanBody.model_validate(row["body"])
    place = await places_repo.plan_place(session, resident_id, place_id) if place_id is not None else None
    if place is None and place_kind == "home":
        place = await places_repo.home_place(session, resident_id)
    if alert_facts.hazard_of(alert) == "nuclear" and alert.get("msg_type") != "cancel" and not alert.get("is_drill"):
        return await _nuclear(session, plan, place, place_kind, language)
    action = _action(alert, place, facts)
    if action is None:
        return None
    level, label_key, hazard = action
    return await _compose(session, plan, place, place_kind, level, t(language, label_key, level=level), hazard, language)


async def _compose(session: AsyncSession, plan: PlanBody, place: dict | None, place_kind: str, level: int,
                   label: str, hazard: str | None, lang: str) -> str | None:
    if not plan.members and not plan.destinations:
        return None
    dests = {d.id: d for d in plan.destinations}
    shelter_rows = await shelter_reads.by_ids(session, [d.shelter_id for d in plan.destinations if d.shelter_id])
    leaving: dict[str | None, list[Member]] = {}
    waiting: dict[int, list[Member]] = {}
    for m in plan.members:
        lv = _leave_level(m)
        if level >= lv or level == 5:
            d = _destination_for(m, dests, hazard)
            leaving.setdefault(d.id if d else None, []).append(m)
        else:
            waiting.setdefault(lv, []).append(m)
    parts: list[str] = []
    if level == 5:
        parts.append(t(lang, "level5_secure"))
    for dest_id, members in leaving.items():
        who = join_list(lang, [m.label for m in members])
        n = "one" if len(members) == 1 else "many"
        if dest_id is None:
            parts.append(t(lang, f"leave_now_nodest_{n}", who=who))
            continue
        d = dests[dest_id]
        shelter = shelter_rows.get(d.shelter_id) if d.shelter_id else None
        name = _dest_name(lang, d, shelter)
        means = t(lang, f"means_{d.means}") if d.means else ""
        problem = _problem(d, shelter, hazard)
        if problem is None:
            time = t(lang, "time", minutes=d.minutes) if d.minutes else ""
            parts.append(t(lang, f"leave_now_{n}", who=who, dest=name, means=means, time=time))
            continue
        hz = t(lang, f"hazard_{hazard}") if hazard in SHELTER_HAZARDS else ""
        parts.append(t(lang, f"dest_problem_{problem}", dest=name, hazard=hz))
        alt = await _alternative(session, place, shelter, hazard)
        if alt is None:
            parts.append(t(lang, "no_alternative"))
            parts.append(t(lang, f"leave_now_nodest_{n}", who=who))
        else:
            alt_name = t(lang, "dest_alternative", alt=alt["name"], distance=_distance(lang, alt["distance_m"]))
            parts.append(t(lang, f"leave_now_{n}", who=who, dest=alt_name, means=means, time=""))
    for lv in sorted(waiting):
        members = waiting[lv]
        n = "one" if len(members) == 1 else "many"
        parts.append(t(lang, f"prepare_{n}", who=join_list(lang, [m.label for m in members]), level=lv))
    level_key = {3: "level_3", 4: "level_4", 5: "level_5"}[level]
    todo = getattr(plan.actions, level_key).do[:MAX_PLAN_ACTIONS]
    if todo:
        parts.append(t(lang, "plan_do", actions=join_list(lang, todo)))
    if leaving and plan.items:
        named = join_list(lang, plan.items[:MAX_ITEMS_NAMED])
        if len(plan.items) > MAX_ITEMS_NAMED:
            named += t(lang, "more_items")
        parts.append(t(lang, "take", items=named))
    header = t(lang, "header", label=label, place=_place_name(lang, place_kind, place))
    return header + t(lang, "sentence_sep").join(parts) + t(lang, "sentence_end")


async def _nuclear(session: AsyncSession, plan: PlanBody, place: dict | None, place_kind: str, lang: str) -> str | None:
    n = plan.nuclear
    header = t(lang, "header", label=t(lang, "nuclear_label"), place=_place_name(lang, place_kind, place))
    parts: list[str] = []
    if n.action == "shelter_indoors":
        parts.append(t(lang, "nuclear_shelter_indoors"))
    elif n.action == "evacuate":
        d = next((x for x in plan.destinations if x.id == n.destination_id), None)
        members = plan.members
        who = join_list(lang, [m.label for m in members]) if members else ""
        k = "one" if len(members) == 1 else "many"
        if d is None or not who:
            return None
        shelter = (await shelter_reads.by_ids(session, [d.shelter_id])).get(d.shelter_id) if d.shelter_id else None
        means = t(lang, f"means_{d.means}") if d.means else ""
        time = t(lang, "time", minutes=d.minutes) if d.minutes else ""
        parts.append(t(lang, f"leave_now_{k}", who=who, dest=_dest_name(lang, d, shelter), means=means, time=time))
    else:
        return None
    if n.instructions:
        parts.append(n.instructions)
    if n.action == "evacuate" and plan.items:
        named = join_list(lang, plan.items[:MAX_ITEMS_NAMED])
        parts.append(t(lang, "take", items=named + (t(lang, "more_items") if len(plan.items) > MAX_ITEMS_NAMED else "")))
    return header + t(lang, "sentence_sep").join(parts) + t(lang, "sentence_end")
