"""Shelters live: staff open / close shelters and report capacity and occupancy, inside their
scope. Every change is audited and published as CAP; an opening tells the residents whose
plan names the shelter and those near it under an active alert, once each. Never commits."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.cap_out import service as cap_service
from alerts.cap_out.writer import CapAlert, CapArea, CapInfo, cap_time
from alerts.shelters_live import messages
from alerts.shelters_live.schemas import BulkChange, ShelterChange
from geo.shelters import service as shelters
from geo.shelters.records import order_hazards
from server.audit.service import record
from server.errors import AppError, NotFound
from server.notifications.service import NotificationItem, enqueue_notification
from server.staff.principal import OPERATOR_ROLES, StaffPrincipal
from server.staff.settings import get_staff_settings

log = structlog.get_logger()

# "Near" for residents under an active alert: a 30-minute walk for the elderly (~2 km).
NEARBY_METRES = 2000.0
# Notifications per insert: one statement stays small, and 1,000 plans go in one.
ENQUEUE_BATCH = 1000
AUDITED_FIELDS = ("is_open", "opened_at", "capacity", "occupancy", "crowding", "hazards", "pets_allowed", "accessible")


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
    where = """(CAST(:m AS text) IS NULL OR municipality_code = :m)
               AND (CAST(:o AS boolean) IS NULL OR is_open = :o)
               AND (CAST(:p AS text) IS NULL OR lower(normalize(name, NFKC)) LIKE :p
                    OR lower(normalize(COALESCE(name_kana, ''), NFKC)) LIKE :p
                    OR lower(normalize(COALESCE(address, ''), NFKC)) LIKE :p OR lower(id) LIKE :p)"""
    params = {"m": municipality_code, "o": is_open, "p": pattern, "lim": limit, "off": offset}
    total = (await session.execute(text(f"SELECT count(*) FROM shelters WHERE {where}"), params)).scalar_one()
    rows = await session.execute(
        text(f"SELECT id FROM shelters WHERE {where} ORDER BY is_open DESC, municipality_code, name, id "
             "LIMIT :lim OFFSET :off"),
        params,
    )
    return [await shelters.get(session, r[0]) for r in rows], total


async def change(session: AsyncSession, principal: StaffPrincipal, shelter_id: str, ch: ShelterChange,
                 *, publish: bool = True) -> dict:
    principal.require_role(OPERATOR_ROLES, "changing a shelter")
    before = await get_in_scope(session, principal, shelter_id)
    capacity = ch.capacity if ch.capacity is not None else before.get("capacity")
    if ch.occupancy is not None and capacity is not None and ch.occupancy > capacity * 3:
        # Crowding tops out at "full"; three times the capacity is a typo, not a report.
        raise AppError(f"occupancy {ch.occupancy} is implausible for capacity {capacity}", code="invalid_occupancy")
    if ch.hazards is not None:
        await session.execute(text("UPDATE shelters SET hazards = :h, updated_at = now() WHERE id = :id"),
                              {"h": order_hazards(ch.hazards), "id": shelter_id})
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
    if opened:
        after["notified"] = await notify_opening(session, after)
    return after


async def bulk(session: AsyncSession, principal: StaffPrincipal, body: BulkChange) -> dict:
    principal.require_role(OPERATOR_ROLES, "opening or closing shelters")
    principal.require_scope([body.municipality_code], "that municipality")
    rows = await session.execute(
        text("SELECT id FROM shelters WHERE municipality_code = :m AND (CAST(:ids AS text[]) IS NULL OR id = ANY(:ids)) "
             "ORDER BY id"),
        {"m": body.municipality_code, "ids": body.shelter_ids},
    )
    ids = [r[0] for r in rows]
    if body.shelter_ids is not None:
        missing = sorted(set(body.shelter_ids) - set(ids))
        if missing:
            raise AppError(f"not shelters of {body.municipality_code}: {', '.join(missing[:10])}",
                           code="unknown_shelter", detail={"unknown": missing})
    want_open = body.action == "open"
    changed, notified = [], 0
    for sid in ids:
        row = await shelters.get(session, sid)
        if bool(row["is_open"]) == want_open:
            continue
        after = await change(session, principal, sid, ShelterChange(is_open=want_open), publish=False)
        notified += after.get("notified", 0)
        changed.append(after)
    if changed:
        await publish_status(session, changed, body.action)
    return {"municipality_code": body.municipality_code, "action": body.action, "changed": len(changed),
            "unchanged": len(ids) - len(changed), "notified": notified}


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
            areas=[CapArea(area_desc=r["name"], circles=[(r["lat"], r["lon"], 0.1)],
                           geocodes=[("JISX0402", r["municipality_code"])]) for r in rows],
        ))
    cap = CapAlert(identifier=identifier[:200], sender=settings.cap_sender, sent=cap_time(now), status="Actual",
                   msg_type="Alert", infos=infos)
    await cap_service.publish(session, cap, subject_type="shelter", subject_id=",".join(r["id"] for r in rows)[:1000],
                              sent_at=now, title=infos[0].headline)


# Residents to tell when a shelter opens: whose current plan names it, and whose places are
# near it while an alert (not a drill) they were told of is still in force.
_RECIPIENTS = text(
    """
    WITH s AS (SELECT geom FROM shelters WHERE id = :sid),
    planned AS (
        SELECT DISTINCT p.resident_id
        FROM evacuation_plans p
        JOIN evacuation_plan_versions v ON v.plan_id = p.id AND v.version = p.current_version
        WHERE v.body -> 'destinations' @> jsonb_build_array(jsonb_build_object('shelter_id', CAST(:sid AS text)))
    ),
    nearby AS (
        SELECT DISTINCT d.resident_id
        FROM deliveries d
        JOIN alert_events e ON e.id = d.event_id AND e.state IN ('active', 'updated') AND e.in_force_until > now()
        JOIN alerts a ON a.id = e.latest_alert_id AND NOT a.is_drill
        JOIN places pl ON pl.resident_id = d.resident_id
                      AND (pl.expires_at IS NULL OR pl.expires_at > now())
        , s
        WHERE d.status IN ('told', 'held')
          AND ST_DWithin(pl.geom::geography, s.geom::geography, :radius)
    )
    SELECT r.id, r.language, CASE WHEN r.id IN (SELECT resident_id FROM planned) THEN 'plan' ELSE 'nearby' END
    FROM residents r
    WHERE r.id IN (SELECT resident_id FROM planned UNION SELECT resident_id FROM nearby)
    ORDER BY r.id
    """
)


async def notify_opening(session: AsyncSession, shelter: dict) -> int:
    """Queue one notification per resident to tell; returns how many were new. The dedupe key
    names this opening, so a repeat (double click, retry) tells nobody twice."""
    opened_at = shelter.get("opened_at")
    key = f"shelter-open:{shelter['id']}:{opened_at.isoformat() if opened_at else 'unknown'}"
    rows = (await session.execute(_RECIPIENTS, {"sid": shelter["id"], "radius": NEARBY_METRES})).all()
    items = []
    for resident_id, language, reason in rows:
        title, body = messages.opened(language or "ja", shelter["name"], reason)
        items.append(NotificationItem(resident_id=resident_id, title=title, body=body,
                                      data={"type": "shelter_open", "shelter_id": shelter["id"], "reason": reason}))
    new = 0
    for i in range(0, len(items), ENQUEUE_BATCH):
        new += await enqueue_notification(session, items[i:i + ENQUEUE_BATCH], kind="shelter_open", dedupe_key=key)
    log.info("alerts.shelters_live.opening_notified", shelter_id=shelter["id"], recipients=len(items), new=new)
    return new


def present(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for k in ("opened_at", "updated_at"):
        if out.get(k) is not None and hasattr(out[k], "isoformat"):
            out[k] = out[k].isoformat()
    return out
