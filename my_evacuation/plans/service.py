"""Plan logic: validate, score completeness, flag unsuitable shelters, keep every version,
suggest hazards at home from the data. Never commits."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from geo.shelters import repository as shelter_reads
from my_evacuation.i18n import t
from my_evacuation.places import repository as places_repo
from my_evacuation.plans import repository as repo
from my_evacuation.plans.schemas import (
    Missing,
    PlanBody,
    PlanOut,
    PlanWarning,
    Suggestion,
    SuggestionsOut,
    VersionSummary,
)
from my_evacuation.residents import repository as residents_repo
from server.errors import AppError, Conflict, NotFound

# Hazards at home (sheet vocabulary) → the registry's designation for the same hazard.
HOME_HAZARD_TO_SHELTER = {"flood": "flood", "landslide": "landslide", "tsunami": "tsunami"}
LEVEL_KEYS = ("level_1_2", "level_3", "level_4", "level_5")
# Shelters within this distance say which hazards the neighbourhood is exposed to (GSI
# designates a site per hazard only where that hazard is expected).
SUGGEST_RADIUS_M = 1500.0
UNKNOWN_ADVICE = "unknown — please check the municipal hazard map (ハザードマップ)"


def _invalid(errors: list[dict]) -> AppError:
    return AppError("the plan is not valid", code="invalid_plan", detail=errors, status_code=400)


async def _resolve_place(session: AsyncSession, resident_id: int, place_id: int | None) -> dict | None:
    if place_id is None:
        return await places_repo.home_place(session, resident_id)
    place = await places_repo.plan_place(session, resident_id, place_id)
    if place is None:
        raise NotFound(f"place {place_id} not found")
    return place


def validate_references(body: PlanBody) -> list[dict]:
    """Cross-field errors the schema alone cannot see."""
    errors: list[dict] = []
    member_ids = [m.id for m in body.members]
    dest_ids = [d.id for d in body.destinations]
    for kind, ids in (("members", member_ids), ("destinations", dest_ids)):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            errors.append({"loc": [kind], "code": "duplicate_id", "msg": f"{kind} ids must be unique: {', '.join(dupes)}"})
    known = set(dest_ids)
    for i, m in enumerate(body.members):
        for ref in m.destination_ids:
            if ref not in known:
                errors.append({"loc": ["members", i, "destination_ids"], "code": "unknown_destination",
                               "msg": f"member {m.id!r} names destination {ref!r}, which is not in destinations"})
    for i, d in enumerate(body.destinations):
        if d.kind == "shelter" and not d.shelter_id:
            errors.append({"loc": ["destinations", i, "shelter_id"], "code": "shelter_id_required",
                           "msg": f"destination {d.id!r} is a shelter: choose one from the registry (shelter_id)"})
        if d.kind != "shelter" and d.shelter_id:
            errors.append({"loc": ["destinations", i, "shelter_id"], "code": "shelter_id_not_allowed",
                           "msg": f"destination {d.id!r} is {d.kind}, not a shelter: remove shelter_id"})
        if d.kind in ("relatives", "hotel", "other") and not d.name:
            errors.append({"loc": ["destinations", i, "name"], "code": "name_required",
                           "msg": f"destination {d.id!r} ({d.kind}) needs a name"})
    nd = body.nuclear.destination_id
    if nd is not None and nd not in known:
        errors.append({"loc": ["nuclear", "destination_id"], "code": "unknown_destination",
                       "msg": f"nuclear destination {nd!r} is not in destinations"})
    if body.nuclear.action == "shelter_indoors" and nd is not None:
        errors.append({"loc": ["nuclear"], "code": "conflicting_nuclear_action",
                       "msg": "shelter_indoors takes no destination; use action 'evacuate' for a destination"})
    return errors


def shelter_warnings(body: PlanBody, shelters: dict[str, dict]) -> list[PlanWarning]:
    """A shelter chosen for a hazard it is not designated for is flagged (GSI designations)."""
    warnings: list[PlanWarning] = []
    home_hazards = [h for h, registry in HOME_HAZARD_TO_SHELTER.items() if getattr(body.hazards, h) == "yes"]
    for d in body.destinations:
        if d.kind != "shelter" or d.shelter_id not in shelters:
            continue
        designated = list(shelters[d.shelter_id]["hazards"] or [])
        wanted = [h for h in d.hazards if h != "nuclear"] or [HOME_HAZARD_TO_SHELTER[h] for h in home_hazards]
        for hz in wanted:
            if hz not in designated:
                warnings.append(PlanWarning(
                    code="shelter_not_designated",
                    message=f"{shelters[d.shelter_id]['name']} is not a designated emergency site for {hz}"
                            f" (designated for: {', '.join(designated) or 'none'})",
                    destination_id=d.id, shelter_id=d.shelter_id, shelter_name=shelters[d.shelter_id]["name"],
                    hazard=hz, designated_for=designated,
                ))
    return warnings


def completeness(body: PlanBody, warnings: list[PlanWarning] = ()) -> tuple[int, list[Missing]]:
    """Eight sections of equal weight, each scored by the share of its checks that pass."""
    missing: list[Missing] = []
    sections: dict[str, list[bool]] = {}

    def check(section: str, ok: bool, code: str, message: str, ref: str | None = None) -> None:
        sections.setdefault(section, []).append(ok)
        if not ok:
            missing.append(Missing(section=section, code=code, message=message, ref=ref))

    check("members", bool(body.members), "no_members", "add the people in your household")
    for h in ("flood", "landslide", "tsunami", "nuclear"):
        check("hazards", getattr(body.hazards, h) != "unknown", "hazard_unknown",
              f"is your home in a {h} hazard area? {UNKNOWN_ADVICE}", h)
    for lk in LEVEL_KEYS:
        la = getattr(body.actions, lk)
        check("actions", bool(la.check or la.do), "level_actions_empty",
              f"write what to check and do at {lk.replace('level_', 'level ').replace('_', '–')}", lk)
    if not body.members:
        check("departures", False, "no_members", "say when each person leaves and where to")
    for m in body.members:
        check("departures", m.leave_at_level is not None, "member_no_leave_level",
              f"at which warning level does {m.label} leave?", m.id)
        check("departures", bool(m.destination_ids), "member_no_destination", f"where does {m.label} go?", m.id)
    check("destinations", bool(body.destinations), "no_destinations", "add at least one destination")
    flagged = {w.destination_id for w in warnings}
    for d in body.destinations:
        check("destinations", d.means is not None, "destination_no_means", f"how do you get to {d.name or d.id}?", d.id)
        check("destinations", d.minutes is not None, "destination_no_time",
              f"how long does it take to reach {d.name or d.id}?", d.id)
        if d.kind != "upper_floor":
            check("destinations", bool(d.route_notes), "destination_no_route", f"note the route to {d.name or d.id}", d.id)
        check("destinations", d.id not in flagged, "destination_unsuitable",
              f"{d.name or d.id} is not designated for a hazard you chose it for", d.id)
    check("items", bool(body.items), "no_items", "list what to take")
    check("contacts", bool(body.contacts), "no_contacts", "add at least one contact")
    n = body.nuclear
    nuclear_done = body.hazards.nuclear == "no" or n.action == "shelter_indoors" or (n.action == "evacuate" and n.destination_id)
    check("nuclear", bool(nuclear_done), "nuclear_not_set",
          "choose a nuclear-emergency destination or the shelter-indoors instruction")
    all_sections = ("members", "hazards", "actions", "departures", "destinations", "items", "contacts", "nuclear")
    score = sum(sum(sections[s]) / len(sections[s]) for s in all_sections) / len(all_sections)
    return round(100 * score), missing


async def _assess(session: AsyncSession, body: PlanBody) -> tuple[list[PlanWarning], int, list[Missing]]:
    ids = sorted({d.shelter_id for d in body.destinations if d.shelter_id})
    shelters = await shelter_reads.by_ids(session, ids)
    unknown = [i for i in ids if i not in shelters]
    if unknown:
        raise _invalid([{"loc": ["destinations"], "code": "unknown_shelter",
                         "msg": f"no shelter with id {i!r} in the registry"} for i in unknown])
    warnings = shelter_warnings(body, shelters)
    score, missing = completeness(body, warnings)
    return warnings, score, missing


async def save_plan(session: AsyncSession, resident_id: int, place_id: int | None, body: PlanBody,
                    expected_version: int | None = None) -> PlanOut:
    await _resolve_place(session, resident_id, place_id)
    errors = validate_references(body)
    if errors:
        raise _invalid(errors)
    warnings, score, missing = await _assess(session, body)
    head = await repo.create_head(session, resident_id, place_id)
    if expected_version is not None and head["current_version"] != expected_version:
        raise Conflict(
            f"the plan is at version {head['current_version']}, not {expected_version}: reload it and save again",
            code="version_conflict", detail={"current_version": head["current_version"]},
        )
    stored = body.model_dump(mode="json")
    version = head["current_version"] + 1
    saved = await repo.insert_version(session, head["id"], version, stored, score)
    return PlanOut(plan_id=head["id"], place_id=place_id, version=version, saved_at=saved["created_at"], body=stored,
                   completeness=score, missing=missing, warnings=warnings)


async def _head_or_404(session: AsyncSession, resident_id: int, place_id: int | None) -> dict:
    head = await repo.get_head(session, resident_id, place_id)
    if head is None or head["current_version"] == 0:
        raise NotFound("no plan saved yet" + ("" if place_id is None else f" for place {place_id}"))
    return head


async def get_plan(session: AsyncSession, resident_id: int, place_id: int | None, version: int | None = None) -> PlanOut:
    head = await _head_or_404(session, resident_id, place_id)
    row = await repo.get_version(session, head["id"], version or head["current_version"])
    if row is None:
        raise NotFound(f"no version {version} of this plan")
    body = PlanBody.model_validate(row["body"])
    # Warnings and what is missing are recomputed: a shelter's designation may have changed.
    ids = sorted({d.shelter_id for d in body.destinations if d.shelter_id})
    shelters = await shelter_reads.by_ids(session, ids)
    warnings = shelter_warnings(body, shelters)
    for sid in (i for i in ids if i not in shelters):
        warnings.append(PlanWarning(code="shelter_gone", message=f"shelter {sid} is no longer in the registry",
                                    shelter_id=sid))
    score, missing = completeness(body, warnings)
    return PlanOut(plan_id=head["id"], place_id=place_id, version=row["version"], saved_at=row["created_at"],
                   body=row["body"], completeness=score, missing=missing, warnings=warnings)


async def history(session: AsyncSession, resident_id: int, place_id: int | None) -> list[VersionSummary]:
    head = await _head_or_404(session, resident_id, place_id)
    return [VersionSummary(version=r["version"], saved_at=r["created_at"], completeness=r["completeness"])
            for r in await repo.list_versions(session, head["id"])]


async def current_body(session: AsyncSession, resident_id: int, place_id: int | None) -> dict | None:
    head = await repo.get_head(session, resident_id, place_id)
    if head is None or head["current_version"] == 0:
        return None
    row = await repo.get_version(session, head["id"], head["current_version"])
    return row["body"] if row else None


async def suggestions(session: AsyncSession, resident_id: int, place_id: int | None) -> SuggestionsOut:
    """Hazards at home as far as the project's data can tell. The resident confirms them.

    - tsunami: the place's 津波予報区 code (set only for coastal areas) → "yes" (the forecast
      area is coarse: the resident checks the inundation map for their street);
      an inland place (no code) → "no".
    - flood / landslide: no zone polygons in the project; GSI designates emergency sites for a
      hazard where it is expected, so designations within 1.5 km hint that the area is exposed
      ("yes" is never claimed from that): suggested "unknown" with the basis spelled out.
    - nuclear: no PAZ/UPZ polygons: "unknown".
    """
    place = await _resolve_place(session, resident_id, place_id)
    body = await current_body(session, resident_id, place_id)
    current = (body or {}).get("hazards", {})
    if place is None:
        return SuggestionsOut(place_id=place_id, suggestions=[
            Suggestion(hazard=h, suggested="unknown", current=current.get(h), basis="register your home place first; " + UNKNOWN_ADVICE)
            for h in ("flood", "landslide", "tsunami", "nuclear")
        ], nearby_shelters=[])
    near = await shelter_reads.hazards_near(session, place["lat"], place["lon"], SUGGEST_RADIUS_M)
    designated = {h for s in near for h in (s["hazards"] or [])}
    out: list[Suggestion] = []
    if place["tsunami_area_code"]:
        out.append(Suggestion(hazard="tsunami", suggested="yes", current=current.get("tsunami"),
                              basis=f"your place is in JMA tsunami forecast area {place['tsunami_area_code']} (coastal); "
                                    "check the tsunami inundation map for your street"))
    elif place["municipality_code"]:
        out.append(Suggestion(hazard="tsunami", suggested="no", current=current.get("tsunami"),
                              basis="your place is not in a JMA tsunami forecast area (inland)"))
    else:
        out.append(Suggestion(hazard="tsunami", suggested="unknown", current=current.get("tsunami"),
                              basis="your place is outside the areas the project knows; " + UNKNOWN_ADVICE))
    for h in ("flood", "landslide"):
        hint = f"shelters within {SUGGEST_RADIUS_M / 1000:g} km are designated for {h}" if h in designated else \
            f"no shelter within {SUGGEST_RADIUS_M / 1000:g} km is designated for {h}"
        out.append(Suggestion(hazard=h, suggested="unknown", current=current.get(h),
                              basis=f"the project has no {h} zone data ({hint}); {UNKNOWN_ADVICE}"))
    out.append(Suggestion(hazard="nuclear", suggested="unknown", current=current.get("nuclear"),
                          basis="the project has no nuclear emergency zone (PAZ/UPZ) data; " + UNKNOWN_ADVICE))
    nearby = [{"id": s["id"], "name": s["name"], "hazards": list(s["hazards"] or []),
               "distance_m": round(float(s["distance_m"]), 1)} for s in near[:5]]
    return SuggestionsOut(place_id=place_id, suggestions=out, nearby_shelters=nearby)


def localize(plan: PlanOut, language: str) -> PlanOut:
    """``missing`` and ``warnings`` said in the resident's language (the codes stay as they are)."""
    members = {m.get("id"): m.get("label") for m in plan.body.get("members") or []}
    dests = {d.get("id"): d.get("name") or d.get("id") for d in plan.body.get("destinations") or []}
    shelter_names = {d.get("shelter_id"): d.get("name") or d.get("shelter_id") for d in plan.body.get("destinations") or []}

    def say(key: str, **params) -> str | None:
        try:
            return t(language, key, **params)
        except (KeyError, IndexError):
            return None

    for m in plan.missing:
        code, ref = m.code, m.ref
        if m.section == "departures" and code == "no_members":
            text_ = say("plan_missing_departures")
        elif code == "hazard_unknown":
            text_ = say("plan_missing_hazard_unknown", hazard=say(f"hazard_{ref}") or ref)
        elif code == "level_actions_empty":
            text_ = say("plan_missing_level_actions_empty", level=(ref or "").removeprefix("level_").replace("_", "–"))
        elif code.startswith("member_"):
            text_ = say(f"plan_missing_{code}", name=members.get(ref) or ref)
        elif code.startswith("destination_"):
            text_ = say(f"plan_missing_{code}", dest=dests.get(ref) or ref)
        else:
            text_ = say(f"plan_missing_{code}")
        if text_:
            m.message = text_
    for w in plan.warnings:
        shelter = w.shelter_name or shelter_names.get(w.shelter_id) or w.shelter_id
        hazard = say(f"hazard_{w.hazard}") or w.hazard if w.hazard else ""
        text_ = say(f"plan_warning_{w.code}", shelter=shelter, hazard=hazard)
        if text_:
            w.message = text_
    return plan


async def localized(session: AsyncSession, plan: PlanOut, device_id: int) -> PlanOut:
    language = await residents_repo.device_language(session, device_id) or "ja"
    return localize(plan, language)
