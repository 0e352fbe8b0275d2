"""Safety status (安否): each resident's one current status, its history, and the family
notification on every change. Never commits."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from geo.shelters import repository as shelters_repo
from my_evacuation.family import repository as repo
from my_evacuation.family.schemas import Location, StatusIn, StatusOut
from my_evacuation.i18n import t
from my_evacuation.notify import NotificationItem, enqueue_notification
from my_evacuation.residents import repository as residents_repo
from server.errors import AppError

NOTIFICATION_KIND = "family_status"


def status_out(row: dict) -> StatusOut | None:
    """A member's status as others see it: the location only when its owner opted in."""
    if row.get("status") is None:
        return None
    loc = Location(lat=row["lat"], lon=row["lon"]) if row.get("share_location") and row.get("lat") is not None else None
    return StatusOut(resident_id=row["resident_id"], display_name=row.get("display_name"), status=row["status"],
                     message=row["message"], shelter_id=row["shelter_id"], shelter_name=row["shelter_name"],
                     location=loc, updated_at=row["updated_at"], version=row["version"])


async def _shelter_name(session: AsyncSession, shelter_id: str) -> str:
    shelter = await shelters_repo.get(session, shelter_id)
    if shelter is None:
        raise AppError(f"no shelter with id {shelter_id!r} in the registry", code="unknown_shelter")
    return shelter["name"]


def render_status(language: str, name: str, status: str, shelter_name: str | None, message: str | None) -> str:
    if status == "at_shelter" and shelter_name:
        st = t(language, "status_at_shelter_named", shelter=shelter_name)
    else:
        st = t(language, f"status_{status}")
    msg = t(language, "family_message", message=message) if message else ""
    return t(language, "family_status_body", name=name, status=st, message=msg)


async def set_status(session: AsyncSession, resident_id: int, body: StatusIn) -> StatusOut:
    """Record a new status and queue one push to every other member of every group the
    resident is in (once per person, however many groups they share)."""
    if body.location is not None and not body.share_location:
        raise AppError("a location is stored only when share_location is true", code="location_not_shared")
    if body.share_location and body.location is None:
        raise AppError("share_location needs a location", code="location_missing")
    if body.status != "at_shelter" and (body.shelter_id or body.shelter_name):
        raise AppError("a shelter goes with status at_shelter", code="shelter_without_at_shelter")
    shelter_name = body.shelter_name
    if body.shelter_id:
        shelter_name = await _shelter_name(session, body.shelter_id)
    lat, lon = (body.location.lat, body.location.lon) if body.location else (None, None)
    params = {"r": resident_id, "s": body.status, "sid": body.shelter_id, "sname": shelter_name,
              "m": body.message, "share": body.share_location, "lat": lat, "lon": lon}
    out = await repo.upsert_status(session, params)
    await repo.insert_status_history(session, {**params, "v": out["version"], "at": out["updated_at"]})
    if not body.share_location:
        # Not sharing any more withdraws every location shared before: the history (the PFIF
        # notes of every group's export) keeps none of them.
        await repo.withdraw_shared_locations(session, resident_id)
    await notify_family(session, resident_id, out)
    return status_out(out)


async def notify_family(session: AsyncSession, resident_id: int, status: dict) -> int:
    others = await repo.co_members(session, resident_id)
    languages = await residents_repo.languages(session, [o["resident_id"] for o in others])
    items = [
        NotificationItem(
            resident_id=o["resident_id"],
            title=t(lang, "family_status_title"),
            body=render_status(lang, o["display_name"], status["status"], status["shelter_name"],
                               status["message"]),
            data={"kind": NOTIFICATION_KIND, "resident_id": str(resident_id), "status": status["status"],
                  "version": str(status["version"])},
            # A family member asking for help is as urgent as anything we send.
            critical=status["status"] == "need_help",
        )
        for o in others
        if (lang := languages.get(o["resident_id"])) is not None
    ]
    return await enqueue_notification(session, items, kind=NOTIFICATION_KIND,
                                      dedupe_key=f"safety-status:{resident_id}:{status['version']}")


async def get_own(session: AsyncSession, resident_id: int) -> StatusOut | None:
    d = await repo.get_status(session, resident_id)
    if d is None:
        return None
    # The resident sees their own location even when they have not shared it (it is not stored then anyway).
    return status_out(d)


async def _current(session: AsyncSession, resident_id: int) -> dict | None:
    return await repo.get_status(session, resident_id, for_update=True)


async def set_at_shelter(session: AsyncSession, resident_id: int, shelter_id: str) -> bool:
    """A check-in: status "at a shelter (name)", unless it already says this shelter (a repeat
    scan, a check-in counted twice): then nothing changes and nobody is told again. The family
    is told once, like any status change. Returns whether the status changed."""
    cur = await _current(session, resident_id)
    if cur is not None and cur["status"] == "at_shelter" and cur["shelter_id"] == shelter_id:
        return False
    await set_status(session, resident_id, StatusIn(status="at_shelter", shelter_id=shelter_id))
    return True


async def left_shelter(session: AsyncSession, resident_id: int, shelter_id: str) -> bool:
    """A check-out: if the status still says this shelter, it goes back to what it was before
    the check-in (its message too; never a location, which needs a fresh opt-in), or
    "unknown" when there was nothing before. Returns whether the status changed."""
    cur = await _current(session, resident_id)
    if cur is None or cur["status"] != "at_shelter" or cur["shelter_id"] != shelter_id:
        return False
    prev = await repo.status_before_shelter(session, resident_id, cur["version"])
    status, message = (prev[0], prev[1]) if prev else ("unknown", None)
    await set_status(session, resident_id, StatusIn(status=status, message=message))
    return True
