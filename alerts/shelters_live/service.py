"""Shelters live: staff open / close shelters and report capacity and occupancy, inside their
scope. Every change is audited and published as CAP; an opening tells the residents whose
plan names the shelter and those near it under an active alert, once each. Never commits."""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.cap_out import service as cap_service
from alerts.cap_out.writer import SHELTER_CIRCLE_KM, CapAlert, CapArea, CapInfo, cap_time
from alerts.delivery.preferences import load_preferences
from alerts.shelters_live import messages
from alerts.shelters_live import repository as repo
from alerts.shelters_live.schemas import BulkChange, ShelterChange
from geo.shelters import repository as shelters_repo
from geo.shelters import service as shelters
from geo.shelters.records import order_hazards
from my_evacuation.i18n import join_list
from server import readcache
from alerts.staff.audit.service import record
from server.errors import AppError, NotFound
from my_evacuation.push.notifications import NotificationItem, enqueue_notification
from alerts.staff.principal import OPERATOR_ROLES, StaffPrincipal
from alerts.staff.settings import get_staff_settings

log = structlog.get_logger()

# "Near" for residents under an active alert: a 30-minute walk for the elderly (~2 km).
NEARBY_METRES = 2000.0
# Notifications per insert: one statement stays small, and 1,000 plans go in one.
ENQUEUE_BATCH = 1000
AUDITED_FIELDS = ("is_open", "opened_at", "capacity", "occupancy", "crowding", "over_capacity", "hazards", "pets_allowed",
                  "accessible")


def _snapshot(row: dict) -> dict:
    return {k: row.get(k) for k in AUDITED_FIELDS}


async def get_in_scope(session: AsyncSession, principal: StaffPrincipal, shelter_id: str) -> dict:
    row = await shelters.get(session, shelter_id)
    if not principal.covers(row["municipality_code"]):
        raise NotFound(f"no shelter {shelter_id!r}")  # out of scope looks like absent
    return row


async def list_in_scope(
    session: AsyncSession, principal: StaffPrincipal, *, municipality_code: str | None, is_open: bool | None, limit: int,
    q: str | None = None, offset: int = 0,
) -> tuple[list[dict], int]:
    """A page of the shelters in scope (open first, then by municipality and name) and how many
    match in all. ``q`` matches the name, kana, address or id (NFKC, case-insensitive), so 全角
    and half-width digits find the same shelter."""
    municipality_code = principal.scope_filter(municipality_code)
    pattern = None
    if q and q.strip():
        needle = unicodedata.normalize("NFKC", q.strip()).lower()
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    ids, total = await shelters_repo.search_ids(
        session, municipality_code=municipality_code, is_open=is_open, pattern=pattern, limit=limit, offset=offset
    )
    return [await shelters.get(session, sid) for sid in ids], total


async def change(session: AsyncSession, principal: StaffPrincipal, shelter_id: str, ch: ShelterChange,
                 *, publish: bool = True, notify: bool = True) -> dict:
    principal.require_role(OPERATOR_ROLES, "changing a shelter")
    before = await get_in_scope(session, principal, shelter_id)
    capacity = ch.capacity if ch.capacity is not None else before.get("capacity")
    if ch.occupancy is not None and capacity is not None and ch.occupancy > capacity * 3:
        # Crowding tops out at "full"; three times the capacity is a typo, not a report.
        raise AppError(f"occupancy {ch.occupancy} is implausible for capacity {capacity}", code="invalid_occupancy",
                       detail={"occupancy": ch.occupancy, "capacity": capacity, "max": capacity * 3})
    # Above capacity (up to 3x) is accepted: in a disaster the people are there and must be
    # counted; the answer says ``over_capacity: true`` with crowding "full" (geo.shelters.present).
    if ch.hazards is not None:
        readcache.touch(session, "shelters")  # the public shelter reads show hazards (server.readcache)
        await shelters_repo.set_hazards(session, shelter_id, order_hazards(ch.hazards))
    after = await shelters.set_status(
        session, shelter_id, is_open=ch.is_open, occupancy=ch.occupancy, capacity=ch.capacity,
        pets_allowed=ch.pets_allowed, accessible=ch.accessible,
    )
    opened = bool(after["is_open"]) and not before["is_open"]
    closed = before["is_open"] and not after["is_open"]
    action = "shelter.open" if opened else "shelter.close" if closed else "shelter.update"
    await record(session, principal, action, ("shelter", shelter_id), _snapshot(before), _snapshot(after),
                 municipality_code=after["municipality_code"])
    if publish and (opened or closed):
        await publish_status(session, [after], "open" if opened else "close")
    if opened and notify:
        told = await notify_opening(session, after)
        after["notified"], after["held"] = told["notified"], told["held"]
    after["opened_now"] = opened
    return after


async def bulk(session: AsyncSession, principal: StaffPrincipal, body: BulkChange) -> dict:
    principal.require_role(OPERATOR_ROLES, "opening or closing shelters")
    principal.require_scope([body.municipality_code], "that municipality")
    ids = await shelters_repo.ids_in_municipality(session, body.municipality_code, body.shelter_ids)
    if body.shelter_ids is not None:
        missing = sorted(set(body.shelter_ids) - set(ids))
        if missing:
            raise AppError(f"not shelters of {body.municipality_code}: {', '.join(missing[:10])}",
                           code="unknown_shelter", detail={"unknown": missing})
    want_open = body.action == "open"
    changed = []
    for sid in ids:
        row = await shelters.get(session, sid)
        if bool(row["is_open"]) == want_open:
            continue
        changed.append(await change(session, principal, sid, ShelterChange(is_open=want_open), publish=False,
                                    notify=False))
    told = {"notified": 0, "held": 0}
    if changed:
        await publish_status(session, changed, body.action)
        # One notification per resident for the whole bulk open, not one per shelter.
        told = await notify_opening(session, [c for c in changed if c.get("opened_now")])
    return {"municipality_code": body.municipality_code, "action": body.action, "changed": len(changed),
            "unchanged": len(ids) - len(changed), **told}


async def open_shelters(session: AsyncSession, principal: StaffPrincipal, shelter_ids: list[str]) -> dict:
    """Open these shelters (those still closed) as one action: audited each, published as one
    CAP document, residents told once each (for an order that names several shelters)."""
    changed = []
    for sid in shelter_ids:
        row = await get_in_scope(session, principal, sid)
        if not row["is_open"]:
            changed.append(await change(session, principal, sid, ShelterChange(is_open=True), publish=False,
                                        notify=False))
    if not changed:
        return {"changed": 0, "notified": 0, "held": 0}
    await publish_status(session, changed, "open")
    return {"changed": len(changed), **await notify_opening(session, changed)}


async def publish_status(session: AsyncSession, rows: list[dict], status: str) -> None:
    """One CAP document (bousai profile, 避難所開設情報) for the shelters that changed together."""
    settings = get_staff_settings()
    now = datetime.now(UTC).replace(microsecond=0)
    first = rows[0]
    label = first["name"] if len(rows) == 1 else f"{first['name']} ほか{len(rows) - 1}か所"
    verb = "開設" if status == "open" else "閉鎖"
    identifier = f"bousai-fukushima-shelter-{status}-{first['id']}-{int(now.timestamp())}-{len(rows)}"
    infos = []
    for lang, event, headline in (
        ("ja-JP", "避難所開設情報", f"避難所{verb}: {label}"),
        ("en-US", "Shelter status", f"Shelter {'opened' if status == 'open' else 'closed'}: {label}"),
    ):
        infos.append(CapInfo(
            language=lang, categories=["Safety"], event=event,
            response_types=["Shelter"] if status == "open" else ["None"],
            urgency="Expected", severity="Minor", certainty="Observed",
            event_codes=[("bousai:shelter-status", status)], sender_name=settings.cap_sender_name, headline=headline,
            # Parameters once (in the Japanese info): receivers collect them across infos.
            parameters=([("bousai:shelter-id", r["id"]) for r in rows] + [("bousai:shelter-name", r["name"]) for r in rows]
                        if lang == "ja-JP" else []),
            areas=[CapArea(area_desc=r["name"], circles=[(r["lat"], r["lon"], SHELTER_CIRCLE_KM)],
                           geocodes=[("JISX0402", r["municipality_code"])]) for r in rows],
        ))
    cap = CapAlert(identifier=identifier[:200], sender=settings.cap_sender, sent=cap_time(now), status="Actual",
                   msg_type="Alert", infos=infos)
    await cap_service.publish(session, cap, subject_type="shelter", subject_id=",".join(r["id"] for r in rows)[:1000],
                              sent_at=now, title=infos[0].headline)


def _opening_key(shelters_opened: list[dict]) -> str:
    """Names this opening (these shelters, each at its opened_at): a repeat (double click,
    retry) tells nobody twice."""
    parts = sorted(f"{s['id']}@{s['opened_at'].isoformat() if s.get('opened_at') else 'unknown'}" for s in shelters_opened)
    if len(parts) == 1:
        return f"shelter-open:{parts[0].replace('@', ':')}"
    return "shelter-open:" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


async def notify_opening(session: AsyncSession, opened: dict | list[dict], *, now: datetime | None = None) -> dict:
    """Tell the residents of these openings, one notification per resident however many of
    the shelters concern them (a bulk open of a district names them together, the shelters of
    their plan first). Residents in their quiet hours are held: nothing is pushed, and
    ``GET /v1/me/shelter-openings`` lists the open shelters that concern them. Opening a
    shelter is not life-critical (the order that made people leave is, and it is never held).
    Returns ``{"notified": new notifications, "held": residents held}``."""
    shelters_opened = opened if isinstance(opened, list) else [opened]
    if not shelters_opened:
        return {"notified": 0, "held": 0}
    by_id = {s["id"]: s for s in shelters_opened}
    now = now or datetime.now(UTC)
    rows = await repo.opening_recipients(session, list(by_id), NEARBY_METRES)
    per_resident: dict[int, list] = {}
    for r in rows:
        per_resident.setdefault(r.id, []).append(r)
    items, held = [], 0
    for resident_id, rs in per_resident.items():
        if load_preferences(rs[0].preferences).quiet_now(now):
            held += 1
            continue
        language = rs[0].language or "ja"
        names = [by_id[r.shelter_id]["name"] for r in rs]
        name = names[0] if len(names) == 1 else join_list(language, names)
        title, body = messages.opened(language, name, rs[0].reason)
        items.append(NotificationItem(resident_id=resident_id, title=title, body=body,
                                      data={"type": "shelter_open", "shelter_id": rs[0].shelter_id,
                                            "shelter_ids": ",".join(r.shelter_id for r in rs), "reason": rs[0].reason}))
    key = _opening_key(shelters_opened)
    new = 0
    for i in range(0, len(items), ENQUEUE_BATCH):
        new += await enqueue_notification(session, items[i:i + ENQUEUE_BATCH], kind="shelter_open", dedupe_key=key)
    log.info("alerts.shelters_live.opening_notified", shelter_ids=list(by_id), recipients=len(per_resident),
             new=new, held=held)
    return {"notified": new, "held": held}


async def openings_for(session: AsyncSession, resident_id: int) -> list[dict]:
    """The open shelters that concern a resident now (named by their plan, or near their places
    under an alert in force): what an opening told them, or would have but for quiet hours."""
    open_ids = await shelters_repo.open_ids(session)
    if not open_ids:
        return []
    rows = await repo.opening_recipients(session, open_ids, NEARBY_METRES, resident_id)
    out = []
    for r in rows:
        sh = await shelters.get(session, r.shelter_id)
        out.append({"shelter_id": sh["id"], "name": sh["name"], "municipality_code": sh["municipality_code"],
                    "lat": sh["lat"], "lon": sh["lon"], "opened_at": sh.get("opened_at"), "reason": r.reason,
                    "crowding": sh.get("crowding"), "over_capacity": sh.get("over_capacity", False)})
    out.sort(key=lambda o: (o["reason"] != "plan", -(o["opened_at"].timestamp() if o["opened_at"] else 0)))
    return out


def present(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out.pop("opened_now", None)
    for k in ("opened_at", "updated_at"):
        if out.get(k) is not None and hasattr(out[k], "isoformat"):
            out[k] = out[k].isoformat()
    return out
