"""CAP shelter openings and closings meet the registry.

A municipal CAP message (避難所開設情報, ``bousai:shelter-status`` + one ``bousai:shelter-id``
per shelter, see alerts/sources/CAP_PROFILE.md) opens or closes the registry's shelters it
names. The ids are resolved by ``geo.shelters.service.resolve_refs`` (registry id, GSI 共通ID,
the municipality's own number, an alias). An id that matches nothing is reported — a
structured log, a counter and an audit entry in the municipality's log — never dropped in
silence. Drills change nothing. Idempotent: a stream entry handled twice changes nothing more.
Never commits.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.events import repository as events_repo
from alerts.shelters_live.service import notify_opening
from geo.shelters import service as shelters
from alerts.staff.audit import repository as audit_repo
from alerts.staff.audit.service import record

log = structlog.get_logger()

# An opening that reaches us later than this (a backlog after an outage, a new consumer group
# reading old entries) no longer says anything about today's shelters.
MAX_AGE = timedelta(hours=6)

CAP_SHELTER_CHANGES = Counter(
    "bousai_cap_shelter_changes_total", "Shelters named by CAP shelter messages", ["result"]
)


def _municipalities(payload: dict[str, Any]) -> list[str]:
    codes = []
    for a in payload.get("areas") or []:
        code = str(a.get("code") or "")
        if re.fullmatch(r"[0-9]{6}", code) and code not in codes:
            codes.append(code)
    return codes


async def _already_reported(session: AsyncSession, source_id: str) -> bool:
    return await audit_repo.has_entry(session, target_type="cap", target_id=source_id, action="shelter.cap_unknown")


async def apply_alert(session: AsyncSession, alert_id: int) -> dict[str, Any] | None:
    """Apply one stored alert if it is a CAP shelter message; returns what changed (None: not one)."""
    found = await events_repo.get_alert(session, alert_id)
    if found is None:
        return None
    alert = found["alert"]
    payload = alert.payload or {}
    if alert.source != "cap" or alert.category != "shelter" or alert.is_drill:
        return None
    if alert.issued_at < datetime.now(UTC) - MAX_AGE:
        log.info("alerts.shelters_live.cap_too_old", cap=alert.source_id, issued_at=alert.issued_at.isoformat())
        return None
    entries = [e for e in payload.get("shelters") or [] if e.get("id")]
    munis = _municipalities(payload)
    resolved = await shelters.resolve_refs(session, [e["id"] for e in entries], munis)
    opened, closed, unchanged, unknown = [], [], [], []
    opened_rows: list[dict] = []
    for e in entries:
        sid = resolved.get(e["id"])
        status = e.get("status")
        if alert.msg_type == "cancel" and status == "open":
            status = "close"  # the opening was withdrawn
        if sid is None:
            unknown.append({"id": e["id"], "name": e.get("name")})
            continue
        if status not in ("open", "close"):
            unknown.append({"id": e["id"], "name": e.get("name"), "reason": "no status"})
            continue
        before = await shelters.get(session, sid)
        want = status == "open"
        reopened_since = not want and before["opened_at"] is not None and before["opened_at"] > alert.issued_at
        if bool(before["is_open"]) == want or reopened_since:
            # Already so; or a closing issued before the shelter was (re)opened arrives late: newest wins.
            unchanged.append(sid)
            continue
        after = await shelters.set_status(session, sid, is_open=want)
        await record(session, None, "shelter.open" if want else "shelter.close", ("shelter", sid),
                     {"is_open": before["is_open"]}, {"is_open": want, "cap": alert.source_id},
                     municipality_code=after["municipality_code"])
        if want:
            opened.append(sid)
            opened_rows.append(after)
        else:
            closed.append(sid)
    if opened_rows:
        # One notification per resident for every shelter this message opened.
        await notify_opening(session, opened_rows)
    if unknown and not await _already_reported(session, alert.source_id):
        await record(session, None, "shelter.cap_unknown", ("cap", alert.source_id), None,
                     {"unknown": unknown, "headline": alert.headline},
                     municipality_code=munis[0] if len(munis) == 1 else None)
    for result, items in (("opened", opened), ("closed", closed), ("unchanged", unchanged), ("unknown", unknown)):
        if items:
            CAP_SHELTER_CHANGES.labels(result).inc(len(items))
    if unknown:
        log.warning("alerts.shelters_live.cap_unknown_shelter", cap=alert.source_id, unknown=unknown,
                    municipalities=munis)
    out = {"opened": opened, "closed": closed, "unchanged": unchanged, "unknown": unknown}
    log.info("alerts.shelters_live.cap_applied", cap=alert.source_id, **{k: len(v) for k, v in out.items()})
    return out
