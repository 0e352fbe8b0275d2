"""Evacuation information across domains: issuing a notice publishes its CAP document,
stores it through the alert ingest (so delivery treats it like any CAP feed), records the
audit trail and opens the shelters it names; a preview asks the fan-out's own rules.

Routes call these; ``alerts.notices.service`` keeps the notice's own states and checks.
Never commits: the outbox row, the CAP document and the audit rows are written in the
caller's transaction, all or nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.cap_out import service as cap_out
from alerts.delivery.preview import preview as delivery_preview
from alerts.events.service import ingest
from alerts.notices import service
from alerts.notices.models import EvacuationNotice
from alerts.notices.render import render_notice
from alerts.notices.views import audit_view, primary_municipality
from alerts.shelters_live.service import open_shelters
from alerts.staff.audit.service import record
from server.errors import Conflict
from alerts.staff.principal import StaffPrincipal

log = structlog.get_logger()


async def submit(session: AsyncSession, principal: StaffPrincipal, notice_id: int) -> EvacuationNotice:
    """Send a draft: issued at once, or queued for a second person when it is a live level 4/5."""
    n = await service.submit(session, principal, notice_id)
    return n if n.state == "pending_approval" else await issue(session, principal, n)


async def approve(session: AsyncSession, principal: StaffPrincipal, notice_id: int) -> EvacuationNotice:
    return await issue(session, principal, await service.approve(session, principal, notice_id))


async def cancel(session: AsyncSession, principal: StaffPrincipal, notice_id: int, note: str | None = None) -> EvacuationNotice:
    """Withdraw an issued notice sent in error: out at once to exactly those who received it."""
    return await issue(session, principal, await service.cancel(session, principal, notice_id, note))


async def issue(session: AsyncSession, principal: StaffPrincipal, n: EvacuationNotice) -> EvacuationNotice:
    previous = None
    if n.references_id is not None:
        previous = await session.get(EvacuationNotice, n.references_id, with_for_update=True)
        if previous is None or previous.state != "issued":
            raise Conflict(
                f"notice {n.references_id} is no longer the current issued notice; start again from the latest",
                code="chain_moved",
            )
    now = datetime.now(UTC).replace(microsecond=0)
    before = audit_view(n)
    cap, normalized, messages, _shelters = await render_notice(session, n, now)
    await cap_out.publish(session, cap, subject_type="notice", subject_id=str(n.id), sent_at=now,
                          title=messages["ja"]["headline"])
    result = await ingest(session, normalized)

    n.state = "issued"
    n.issued_by, n.issued_at = principal.id, now
    n.messages = messages
    n.alert_id = result.alert_id
    n.cap_identifier = cap.identifier
    if previous is not None:
        prev_before = audit_view(previous)
        previous.state = "cancelled" if n.msg_type == "cancel" else "updated"
        await record(session, principal, f"notice.{previous.state}", ("notice", previous.id), prev_before,
                     audit_view(previous), municipality_code=primary_municipality(previous))
    await session.flush()
    await record(session, principal, "notice.issue", ("notice", n.id), before, audit_view(n),
                 municipality_code=primary_municipality(n))
    # The order says these shelters are open: make it true (audited, published, residents told
    # once each however many it names). A drill never touches the real registry.
    shelter_ids = list(n.shelter_ids or [])
    if shelter_ids and not n.is_drill and n.msg_type != "cancel" and n.level != 0:
        await open_shelters(session, principal, shelter_ids)
    log.info("alerts.notices.issued", notice_id=n.id, alert_id=result.alert_id, msg_type=n.msg_type,
             level=n.level, drill=n.is_drill)
    return n


async def preview(session: AsyncSession, n: EvacuationNotice) -> dict:
    """Who the notice would tell what if it were issued now: the fan-out's own rules on the
    residents' current state (``alerts.delivery.preview``), nothing published or kept."""
    now = datetime.now(UTC).replace(microsecond=0)
    _, normalized, _, _ = await render_notice(session, n, now)
    normalized["source_id"] = f"preview:{normalized.get('source_id')}"
    return await delivery_preview(session, normalized, now=now)
