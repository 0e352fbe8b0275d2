"""Check-in and check-out at shelters, households outside shelters. Never commits.

Check-ins arrive late, twice and out of order (phones queue them offline), so:

- a repeat of a (submitter, client id) is the same check-in: answered again, nothing changes;
- the client's timestamp orders a resident's check-ins: the latest is where they are; an
  older one arriving late is stored as ``moved`` and counts nowhere;
- a check-in elsewhere ends the previous one (``moved``), a check-out ends it (``out``);
- the shelter's exact ``checked_in`` count and its occupancy move in the same transaction,
  by one UPDATE each (the row lock orders concurrent check-ins; nothing is read then written);
- the resident's family status becomes "at a shelter (name)" when it is not already that
  shelter, so the family is told once; a check-out puts back what it said before.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from geo.shelters import repository as shelters_repo
from geo.shelters.records import crowding_level
from geo.shelters import codes
from alerts.evacuees import repository as repo
from alerts.evacuees.config import get_evacuees_settings
from alerts.evacuees.models import NEEDS
from alerts.evacuees.schemas import CheckinIn, CheckoutIn, OutsideIn, StaffCheckinIn, StaffCheckoutIn
from my_evacuation.family import statuses
from alerts.staff.audit.service import record
from server.errors import AppError, Conflict, NotFound
from alerts.staff.principal import OPERATOR_ROLES, StaffPrincipal


def _check_time(at: datetime, what: str = "at") -> datetime:
    cfg = get_evacuees_settings()
    now = datetime.now(UTC)
    if at > now + timedelta(seconds=cfg.max_client_skew_seconds):
        raise AppError(f"{what} is in the future (check the phone's clock)", code="time_in_future",
                       detail={"at": at.isoformat(), "now": now.isoformat()})
    if at < now - timedelta(hours=cfg.max_client_age_hours):
        raise AppError(f"{what} is older than {cfg.max_client_age_hours} hours", code="time_too_old",
                       detail={"at": at.isoformat()})
    return at


def needs_of_member(m: dict) -> set[str]:
    out = set(m.get("needs") or [])
    if m.get("needs_help_to_move"):
        out.add("mobility")
    if m.get("care_needs"):
        out.add("care")
    if m.get("medical_needs"):
        out.add("medical")
    if m.get("pets"):
        out.add("pets")
    return out & set(NEEDS)


def _order_needs(needs: set[str]) -> list[str]:
    return [n for n in NEEDS if n in needs]


async def household(session: AsyncSession, resident_id: int, member_ids: list[str], headcount: int | None,
                    needs: list[str]) -> tuple[list[dict], int, list[str]]:
    """Members named by id from the resident's plans → (member records, headcount, needs)."""
    members: list[dict] = []
    all_needs = set(needs)
    if member_ids:
        plan = await repo.plan_members(session, resident_id)
        unknown = [m for m in member_ids if m not in plan]
        if unknown:
            raise AppError("these members are not in your evacuation plan", code="unknown_member",
                           detail={"unknown": unknown})
        for mid in dict.fromkeys(member_ids):
            m = plan[mid]
            mn = needs_of_member(m)
            all_needs |= mn
            members.append({"id": mid, "label": m.get("label"), "age_band": m.get("age_band"), "needs": _order_needs(mn)})
    if headcount is not None and headcount < len(members):
        raise AppError(f"headcount {headcount} is less than the {len(members)} members named", code="invalid_headcount")
    return members, headcount or len(members) or 1, _order_needs(all_needs)


def _present(row: dict, shelter: dict | None, *, duplicate: bool = False, name: str | None = None) -> dict[str, Any]:
    out = {k: row[k] for k in ("id", "client_id", "shelter_id", "state", "headcount", "needs", "members",
                               "checked_in_at", "checked_out_at")}
    out["needs"] = list(out["needs"] or [])
    out["duplicate"] = duplicate
    out["shelter_name"] = name or (shelter or {}).get("name") or row.get("shelter_name") or row["shelter_id"]
    if shelter is not None:
        out["shelter_checked_in"] = shelter.get("checked_in")
        out["shelter_occupancy"] = shelter.get("occupancy")
        out["shelter_crowding"] = crowding_level(shelter.get("occupancy"), shelter.get("capacity"))
        out["shelter_open"] = shelter.get("is_open")
    return out


async def _shelter_now(session: AsyncSession, shelter_id: str) -> dict | None:
    return await shelters_repo.get(session, shelter_id)


async def _end(session: AsyncSession, row: dict, state: str, *, at: datetime | None = None,
               checkout_client_id: str | None = None, resident_id: int | None = None) -> dict | None:
    """End a check-in that is ``in``: the resident's status goes back, then — last, so the
    shelter's row lock is held only to the commit — its people leave the shelter's count."""
    await repo.set_state(session, row["id"], state, checked_out_at=at, checkout_client_id=checkout_client_id)
    if resident_id is not None:
        await statuses.left_shelter(session, resident_id, row["shelter_id"])
    return await shelters_repo.adjust_checked_in(session, row["shelter_id"], -row["headcount"])


async def check_in(session: AsyncSession, resident_id: int, body: CheckinIn) -> dict[str, Any]:
    at = _check_time(body.at)
    submitted_by = f"resident:{resident_id}"
    await repo.lock_resident(session, resident_id)
    existing = await repo.by_client_id(session, submitted_by, body.client_id)
    if existing is not None:
        return await _repeat(session, existing, body.code)
    shelter_id, municipality_code = await codes.verify(session, body.code)
    members, headcount, needs = await household(session, resident_id, body.members, body.headcount, list(body.needs))
    superseded = await repo.later_exists(session, resident_id, at)
    row = await repo.insert_checkin(session, {
        "submitted_by": submitted_by, "client_id": body.client_id, "resident_id": resident_id, "staff_id": None,
        "shelter_id": shelter_id, "municipality_code": municipality_code, "headcount": headcount,
        "members": members, "needs": needs, "note": body.note, "state": "moved" if superseded else "in",
        "checked_in_at": at,
    })
    if row is None:  # unreachable under the resident lock; kept for a submitter without one
        return await _repeat(session, await repo.by_client_id(session, submitted_by, body.client_id), body.code)
    if superseded:
        return _present(row, await _shelter_now(session, shelter_id))
    deltas = {shelter_id: headcount}
    previous = await repo.current_of_resident_other_than(session, resident_id, row["id"])
    if previous is not None:  # a check-in elsewhere (or a re-scan here) ends the one before
        await repo.set_state(session, previous["id"], "moved")
        deltas[previous["shelter_id"]] = deltas.get(previous["shelter_id"], 0) - previous["headcount"]
    await statuses.set_at_shelter(session, resident_id, shelter_id)
    await repo.delete_outside(session, resident_id)  # in a shelter now, no longer outside
    # Last, and in id order: a shelter's row is what every check-in there waits for, so its
    # lock is held from here to the commit and no longer; two households moving crosswise
    # between two shelters take the two locks in the same order (no deadlock).
    shelter = None
    for sid in sorted(deltas):
        changed = await shelters_repo.adjust_checked_in(session, sid, deltas[sid])
        if sid == shelter_id:
            shelter = changed
    return _present(row, shelter)


async def _repeat(session: AsyncSession, existing: dict, code: str | None) -> dict[str, Any]:
    """The same client id again: the first answer again, even if the code was rotated since
    (the queue held it); a genuine code of another shelter under the same id is a conflict."""
    if code:
        shelter_id, _ = await codes.verify(session, code, any_version=True)
        if shelter_id != existing["shelter_id"]:
            raise Conflict("this client id was already used for a check-in at another shelter",
                           code="client_id_reused", detail={"shelter_id": existing["shelter_id"]})
    return _present(existing, await _shelter_now(session, existing["shelter_id"]), duplicate=True)


async def check_out(session: AsyncSession, resident_id: int, body: CheckoutIn) -> dict[str, Any]:
    at = _check_time(body.at)
    submitted_by = f"resident:{resident_id}"
    await repo.lock_resident(session, resident_id)
    if body.checkin_client_id:
        row = await repo.by_client_id(session, submitted_by, body.checkin_client_id, for_update=True)
        if row is None:
            raise NotFound("no check-in with that client id (a queued check-in may not have arrived yet)",
                           code="checkin_not_found")
    else:
        row = await repo.current_of_resident(session, resident_id)
        if row is None:
            raise NotFound("you are not checked in at a shelter", code="not_checked_in")
    return await _check_out_row(session, row, at, body.client_id, resident_id=resident_id)


async def _check_out_row(session: AsyncSession, row: dict, at: datetime, checkout_client_id: str | None,
                         *, resident_id: int | None) -> dict[str, Any]:
    if row["state"] == "out":
        return _present(row, await _shelter_now(session, row["shelter_id"]),
                        duplicate=row["checkout_client_id"] == checkout_client_id)
    if at < row["checked_in_at"]:
        raise AppError("check-out is earlier than the check-in", code="checkout_before_checkin",
                       detail={"checked_in_at": row["checked_in_at"].isoformat()})
    if row["state"] == "moved":  # already counted elsewhere: only the time is kept
        await repo.set_state(session, row["id"], "moved", checked_out_at=at, checkout_client_id=checkout_client_id)
        shelter = await _shelter_now(session, row["shelter_id"])
    else:
        shelter = await _end(session, row, "out", at=at, checkout_client_id=checkout_client_id, resident_id=resident_id)
    return _present(await repo.by_id(session, row["id"]), shelter)


async def current(session: AsyncSession, resident_id: int) -> dict[str, Any] | None:
    row = await repo.current_of_resident(session, resident_id)
    return None if row is None else _present(row, await _shelter_now(session, row["shelter_id"]))


# --- staff, by hand ----------------------------------------------------------------------

async def _shelter_in_scope(session: AsyncSession, principal: StaffPrincipal, shelter_id: str) -> dict:
    shelter = await shelters_repo.get(session, shelter_id)
    if shelter is None or not principal.covers(shelter["municipality_code"]):
        raise NotFound(f"no shelter {shelter_id!r}")  # out of scope looks like absent
    return shelter


async def staff_check_in(session: AsyncSession, principal: StaffPrincipal, shelter_id: str,
                         body: StaffCheckinIn) -> dict[str, Any]:
    principal.require_role(OPERATOR_ROLES, "checking people in")
    shelter = await _shelter_in_scope(session, principal, shelter_id)
    at = _check_time(body.at or datetime.now(UTC))
    members = [{"label": m.label, "age_band": m.age_band, "needs": _order_needs(set(m.needs))} for m in body.members]
    needs = set(body.needs)
    for m in body.members:
        needs |= set(m.needs)
    if body.headcount is not None and body.headcount < len(members):
        raise AppError(f"headcount {body.headcount} is less than the {len(members)} members named", code="invalid_headcount")
    headcount = body.headcount or len(members) or 1
    submitted_by = f"staff:{principal.id}"
    row = await repo.insert_checkin(session, {
        "submitted_by": submitted_by, "client_id": body.client_id, "resident_id": None, "staff_id": principal.id,
        "shelter_id": shelter_id, "municipality_code": shelter["municipality_code"], "headcount": headcount,
        "members": members, "needs": _order_needs(needs), "note": body.note, "state": "in", "checked_in_at": at,
    })
    if row is None:
        existing = await repo.by_client_id(session, submitted_by, body.client_id)
        if existing["shelter_id"] != shelter_id:
            raise Conflict("this client id was already used for a check-in at another shelter", code="client_id_reused")
        return _present(existing, await _shelter_now(session, shelter_id), duplicate=True)
    await shelters_repo.adjust_checked_in(session, shelter_id, headcount)
    await record(session, principal, "shelter.checkin", ("shelter_checkin", row["id"]), None,
                 {"shelter_id": shelter_id, "headcount": headcount, "needs": row["needs"]},
                 municipality_code=shelter["municipality_code"])
    return _present(row, await _shelter_now(session, shelter_id))


async def staff_check_out(session: AsyncSession, principal: StaffPrincipal, checkin_id: int,
                          body: StaffCheckoutIn) -> dict[str, Any]:
    principal.require_role(OPERATOR_ROLES, "checking people out")
    row = await repo.by_id(session, checkin_id, for_update=True)
    if row is None or not principal.covers(row["municipality_code"]):
        raise NotFound(f"no check-in {checkin_id}")
    if row["resident_id"] is not None:
        await repo.lock_resident(session, row["resident_id"])
    at = _check_time(body.at or datetime.now(UTC))
    before_state = row["state"]
    out = await _check_out_row(session, row, max(at, row["checked_in_at"]), None, resident_id=row["resident_id"])
    await record(session, principal, "shelter.checkout", ("shelter_checkin", checkin_id), {"state": before_state},
                 {"state": out["state"], "shelter_id": row["shelter_id"]}, municipality_code=row["municipality_code"])
    return out


# --- outside shelters --------------------------------------------------------------------

def _present_outside(row: dict) -> dict[str, Any]:
    out = {k: row[k] for k in ("whereabouts", "headcount", "members", "note", "share_location", "municipality_code",
                               "updated_at", "expires_at")}
    out["needs"] = list(row["needs"] or [])
    out["location"] = {"lat": row["lat"], "lon": row["lon"]} if row.get("lat") is not None else None
    out["until_events_end"] = list(row.get("during_events") or [])
    return out


async def set_outside(session: AsyncSession, resident_id: int, body: OutsideIn, geocoder: Any = None) -> dict[str, Any]:
    if body.location is not None and not body.share_location:
        raise AppError("a location is stored only when share_location is true", code="location_not_shared")
    if body.share_location and body.location is None:
        raise AppError("share_location needs a location", code="location_missing")
    members, headcount, needs = await household(session, resident_id, body.members, body.headcount, list(body.needs))
    municipality = None
    if body.location is not None and geocoder is not None:
        codes_here = geocoder.locate(body.location.lat, body.location.lon)
        municipality = codes_here.municipality_code if codes_here else None
    municipality = municipality or await repo.home_municipality(session, resident_id)
    await repo.lock_resident(session, resident_id)
    ttl = timedelta(hours=get_evacuees_settings().outside_ttl_hours)
    row = await repo.upsert_outside(session, {
        "resident_id": resident_id, "whereabouts": body.whereabouts, "headcount": headcount, "members": members,
        "needs": needs, "note": body.note, "share_location": body.share_location,
        "lat": body.location.lat if body.location else None, "lon": body.location.lon if body.location else None,
        "municipality_code": municipality, "expires_at": datetime.now(UTC) + ttl,
    })
    cur = await repo.current_of_resident(session, resident_id)
    if cur is not None:  # left the shelter for the car, the relatives… (no check-out was sent)
        await _end(session, cur, "out", at=datetime.now(UTC), resident_id=resident_id)
    return _present_outside(row)


async def get_outside(session: AsyncSession, resident_id: int) -> dict[str, Any] | None:
    row = await repo.get_outside(session, resident_id)
    return None if row is None else _present_outside(row)


async def clear_outside(session: AsyncSession, resident_id: int) -> bool:
    return await repo.delete_outside(session, resident_id)
