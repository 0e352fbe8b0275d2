"""Evacuation information: draft → (second-person approval for live level 4/5) → issued →
updated / cancelled. Every step is audited; issuing goes through the alert store like a feed
alert. Never commits."""

from __future__ import annotations

from datetime import UTC, datetime

from shapely.geometry import mapping
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.notices import repository as notices_repo
from alerts.notices import templates, targets
from alerts.notices.models import EvacuationNotice, NoticeDistrict
from alerts.notices.schemas import DistrictIn, NoticeChanges, NoticeIn
from alerts.notices.views import audit_view, geometry_of, needs_approval, primary_municipality
from alerts.staff.audit.service import record
from server.errors import AppError, Conflict, Forbidden, NotFound
from alerts.staff.principal import OPERATOR_ROLES, StaffPrincipal
from geo.shelters import repository as shelters_repo

EDITABLE_STATES = ("draft",)


async def _check_shelters(session: AsyncSession, principal: StaffPrincipal, shelter_ids: list[str]) -> list[dict]:
    if not shelter_ids:
        return []
    rows = await shelters_repo.names_of(session, list(shelter_ids))
    found = {r[0]: r for r in rows}
    missing = [s for s in shelter_ids if s not in found]
    if missing:
        raise AppError(f"unknown shelter id(s): {', '.join(missing)}", code="unknown_shelter", detail={"unknown": missing})
    # Issuing opens the listed shelters, so an operator may only list shelters they run.
    principal.require_scope([found[s][2] for s in shelter_ids], "that shelter")
    return [{"id": s, "name": found[s][1], "municipality_code": found[s][2]} for s in shelter_ids]


async def _check_template(template: str) -> None:
    if template not in templates.template_keys():
        raise AppError(f"unknown template {template!r}", code="unknown_template", detail={"templates": templates.template_keys()})


async def get_notice(session: AsyncSession, principal: StaffPrincipal, notice_id: int, *, for_update: bool = False) -> EvacuationNotice:
    n = await notices_repo.get_notice(session, notice_id, for_update=for_update)
    if n is None or not all(principal.covers(c) for c in n.municipality_codes or []):
        # Out of scope looks exactly like absent: a municipal operator learns nothing of others' notices.
        raise NotFound(f"no notice {notice_id}")
    return n


async def list_notices(
    session: AsyncSession, principal: StaffPrincipal, *, state: str | None = None, limit: int = 100
) -> list[EvacuationNotice]:
    return await notices_repo.list_notices(
        session, state=state, municipality_code=None if principal.prefecture_wide else principal.municipality_code,
        limit=min(max(limit, 1), 500),
    )


async def create_draft(session: AsyncSession, principal: StaffPrincipal, data: NoticeIn) -> EvacuationNotice:
    principal.require_role(OPERATOR_ROLES, "drafting evacuation information")
    await _check_template(data.template)
    target = await targets.resolve(
        session, principal, kind=data.target_kind, municipality_codes=data.municipality_codes,
        district_ids=data.district_ids, polygon=data.polygon,
    )
    await _check_shelters(session, principal, data.shelter_ids)
    n = EvacuationNotice(
        msg_type="alert",
        state="draft",
        level=data.level,
        is_drill=data.is_drill,
        template=data.template,
        target_kind=target.kind,
        municipality_codes=target.municipality_codes,
        district_ids=target.district_ids,
        geom=f"SRID=4326;{target.wkt}" if target.wkt else None,
        reason=data.reason if data.reason is not None else templates.template_reason(data.template),
        shelter_ids=list(data.shelter_ids),
        created_by=principal.id,
    )
    session.add(n)
    await session.flush()
    n.root_id = n.id
    await session.flush()
    await session.refresh(n)
    await record(session, principal, "notice.draft", ("notice", n.id), None, audit_view(n),
                 municipality_code=primary_municipality(n))
    return n


async def _apply_changes(session: AsyncSession, principal: StaffPrincipal, n: EvacuationNotice, ch: NoticeChanges) -> None:
    if ch.target_kind is not None or ch.municipality_codes is not None or ch.district_ids is not None or ch.polygon is not None:
        target = await targets.resolve(
            session, principal,
            kind=ch.target_kind or n.target_kind,
            municipality_codes=ch.municipality_codes if ch.municipality_codes is not None else list(n.municipality_codes),
            district_ids=ch.district_ids if ch.district_ids is not None else list(n.district_ids or []),
            polygon=ch.polygon if ch.polygon is not None else geometry_of(n),
        )
        n.target_kind = target.kind
        n.municipality_codes = target.municipality_codes
        n.district_ids = target.district_ids
        n.geom = f"SRID=4326;{target.wkt}" if target.wkt else None
    if ch.level is not None:
        n.level = ch.level
    if ch.reason is not None:
        n.reason = ch.reason
    if ch.shelter_ids is not None:
        await _check_shelters(session, principal, ch.shelter_ids)
        n.shelter_ids = list(ch.shelter_ids)
    n.updated_at = datetime.now(UTC)


async def update_draft(session: AsyncSession, principal: StaffPrincipal, notice_id: int, ch: NoticeChanges) -> EvacuationNotice:
    principal.require_role(OPERATOR_ROLES, "editing evacuation information")
    n = await get_notice(session, principal, notice_id, for_update=True)
    if n.state not in EDITABLE_STATES:
        raise Conflict(f"notice {n.id} is {n.state}; only drafts can be edited", code="not_editable")
    before = audit_view(n)
    await _apply_changes(session, principal, n, ch)
    await session.flush()
    await session.refresh(n)
    await record(session, principal, "notice.edit", ("notice", n.id), before, audit_view(n),
                 municipality_code=primary_municipality(n))
    return n


async def submit(session: AsyncSession, principal: StaffPrincipal, notice_id: int) -> EvacuationNotice:
    """Send a draft: queued for a second person when it is a live level 4/5 (state
    ``pending_approval``), else left ``draft`` for ``alerts.notices.flows.submit`` to issue."""
    principal.require_role(OPERATOR_ROLES, "sending evacuation information")
    n = await get_notice(session, principal, notice_id, for_update=True)
    if n.state != "draft":
        raise Conflict(f"notice {n.id} is {n.state}, not a draft", code="not_draft")
    before = audit_view(n)
    n.submitted_by, n.submitted_at = principal.id, datetime.now(UTC)
    n.rejection_note = None
    if needs_approval(n):
        n.state = "pending_approval"
        await session.flush()
        await record(session, principal, "notice.submit", ("notice", n.id), before, audit_view(n),
                     municipality_code=primary_municipality(n))
        return n
    await session.flush()
    await record(session, principal, "notice.submit", ("notice", n.id), before, audit_view(n),
                 municipality_code=primary_municipality(n))
    return n


async def approve(session: AsyncSession, principal: StaffPrincipal, notice_id: int) -> EvacuationNotice:
    """The second person's approval, recorded; ``alerts.notices.flows.approve`` issues it."""
    principal.require_role(OPERATOR_ROLES, "approving evacuation information")
    n = await get_notice(session, principal, notice_id, for_update=True)
    if n.state != "pending_approval":
        raise Conflict(f"notice {n.id} is {n.state}, not waiting for approval", code="not_pending")
    if principal.id in (n.created_by, n.submitted_by):
        raise Forbidden("a second person must approve: you drafted or submitted this notice", code="same_person")
    before = audit_view(n)
    n.approved_by, n.approved_at = principal.id, datetime.now(UTC)
    await session.flush()
    await record(session, principal, "notice.approve", ("notice", n.id), before, audit_view(n),
                 municipality_code=primary_municipality(n))
    return n


async def reject(session: AsyncSession, principal: StaffPrincipal, notice_id: int, note: str) -> EvacuationNotice:
    principal.require_role(OPERATOR_ROLES, "rejecting evacuation information")
    n = await get_notice(session, principal, notice_id, for_update=True)
    if n.state != "pending_approval":
        raise Conflict(f"notice {n.id} is {n.state}, not waiting for approval", code="not_pending")
    if principal.id in (n.created_by, n.submitted_by):
        raise Forbidden("a second person must review: you drafted or submitted this notice", code="same_person")
    before = audit_view(n)
    n.state, n.rejection_note = "draft", note
    await session.flush()
    await record(session, principal, "notice.reject", ("notice", n.id), before, audit_view(n),
                 municipality_code=primary_municipality(n))
    return n


async def discard(session: AsyncSession, principal: StaffPrincipal, notice_id: int) -> EvacuationNotice:
    principal.require_role(OPERATOR_ROLES, "discarding evacuation information")
    n = await get_notice(session, principal, notice_id, for_update=True)
    if n.state not in ("draft", "pending_approval"):
        raise Conflict(f"notice {n.id} is {n.state}; only unsent notices can be discarded", code="not_discardable")
    before = audit_view(n)
    n.state = "discarded"
    await session.flush()
    await record(session, principal, "notice.discard", ("notice", n.id), before, audit_view(n),
                 municipality_code=primary_municipality(n))
    return n


async def _chain_head(session: AsyncSession, root_id: int) -> EvacuationNotice | None:
    return await notices_repo.chain_head(session, root_id)


def _follow_up(original: EvacuationNotice, principal: StaffPrincipal, msg_type: str, **fields) -> EvacuationNotice:
    """A draft that follows ``original`` (a correction or a cancellation): same chain, level,
    drill flag and target, referencing it, so it reaches exactly those the original did."""
    return EvacuationNotice(
        root_id=original.root_id,
        references_id=original.id,
        msg_type=msg_type,
        state="draft",
        level=original.level,
        is_drill=original.is_drill,
        template=original.template,
        target_kind=original.target_kind,
        municipality_codes=list(original.municipality_codes),
        district_ids=list(original.district_ids or []),
        geom=original.geom,
        created_by=principal.id,
        **fields,
    )


async def prepare_correction(
    session: AsyncSession, principal: StaffPrincipal, notice_id: int, ch: NoticeChanges
) -> EvacuationNotice:
    """A ready-made correction: a draft copy of the issued notice (msg_type update) with the changes."""
    principal.require_role(OPERATOR_ROLES, "correcting evacuation information")
    original = await get_notice(session, principal, notice_id)
    if original.state != "issued" or original.msg_type == "cancel":
        raise Conflict(f"notice {original.id} is {original.state}; only the current issued notice can be corrected",
                       code="not_correctable")
    n = _follow_up(original, principal, "update", reason=original.reason, shelter_ids=list(original.shelter_ids or []))
    await _apply_changes(session, principal, n, ch)
    session.add(n)
    await session.flush()
    await session.refresh(n)
    await record(session, principal, "notice.correction_draft", ("notice", n.id), audit_view(original), audit_view(n),
                 municipality_code=primary_municipality(n))
    return n


async def cancel(session: AsyncSession, principal: StaffPrincipal, notice_id: int, note: str | None = None) -> EvacuationNotice:
    """The withdrawal of an issued notice sent in error, drafted and recorded;
    ``alerts.notices.flows.cancel`` issues it at once (no approval — speed is the point)."""

    principal.require_role(OPERATOR_ROLES, "cancelling evacuation information")
    original = await get_notice(session, principal, notice_id, for_update=True)
    if original.state != "issued" or original.msg_type == "cancel":
        raise Conflict(f"notice {original.id} is {original.state}; only the current issued notice can be cancelled",
                       code="not_cancellable")
    n = _follow_up(
        original, principal, "cancel", reason=note, shelter_ids=[], submitted_by=principal.id, submitted_at=datetime.now(UTC)
    )
    session.add(n)
    await session.flush()
    await session.refresh(n)
    await record(session, principal, "notice.cancel", ("notice", original.id), audit_view(original), audit_view(n),
                 municipality_code=primary_municipality(n))
    return n


# --- districts --------------------------------------------------------------------------


async def create_district(session: AsyncSession, principal: StaffPrincipal, data: DistrictIn) -> NoticeDistrict:
    principal.require_role(OPERATOR_ROLES, "drawing districts")
    principal.require_scope([data.municipality_code], "that municipality")
    geom = targets.parse_polygon(data.polygon)
    scoped = StaffPrincipal(id=principal.id, username=principal.username, display_name=principal.display_name,
                            role=principal.role, municipality_code=data.municipality_code)
    await targets.resolve(session, scoped, kind="polygon", polygon=data.polygon)
    if await notices_repo.district_exists(session, data.municipality_code, data.name):
        raise Conflict(f"district {data.name!r} already exists in {data.municipality_code}", code="district_exists")
    d = NoticeDistrict(municipality_code=data.municipality_code, name=data.name, geom=f"SRID=4326;{geom.wkt}",
                       created_by=principal.id)
    session.add(d)
    await session.flush()
    await record(session, principal, "district.create", ("district", d.id), None,
                 {"id": d.id, "municipality_code": d.municipality_code, "name": d.name, "geometry": mapping(geom)},
                 municipality_code=d.municipality_code)
    return d


async def list_districts(session: AsyncSession, principal: StaffPrincipal, municipality_code: str | None) -> list[dict]:
    municipality_code = principal.scope_filter(municipality_code)
    rows = await notices_repo.list_districts(session, municipality_code)
    return [{"id": i, "municipality_code": m, "name": n, "geometry": g} for i, m, n, g in rows]
