"""Staff routes for evacuation information (避難情報) and the districts it can target."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Path
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.notices import flows, service, templates
from alerts.notices.views import view
from alerts.notices.schemas import (
    DistrictIn,
    DistrictOut,
    DistrictWithGeometry,
    NoticeChanges,
    NoticeIn,
    NoticeOut,
    NoticePreview,
    RejectIn,
    TemplateOut,
)
from server.deps import SESSION
from alerts.staff.deps import require_staff
from alerts.staff.principal import StaffPrincipal

# Postgres bigint: a larger id is a bad request (422), never a database error.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]

router = APIRouter(tags=["staff: evacuation information"])

operators = require_staff(roles=("prefecture", "municipal"))
readers = require_staff(roles=("admin", "prefecture", "municipal", "viewer"))


@router.get("/v1/staff/notice-templates", response_model=list[TemplateOut])
async def list_templates(principal: StaffPrincipal = Depends(readers)):
    cat = templates.catalog()
    return [
        {"key": k, "name": {"ja": v.get("ja"), "en": v.get("en")}, "reason": v.get("reason")}
        for k, v in cat["templates"].items()
    ]


@router.get("/v1/staff/notices", response_model=list[NoticeOut])
async def list_notices(
    state: str | None = Query(None, pattern=r"^(draft|pending_approval|issued|updated|cancelled|discarded)$"),
    limit: int = Query(100, ge=1, le=500),
    session: AsyncSession = SESSION,
    principal: StaffPrincipal = Depends(readers),
):
    return [view(n) for n in await service.list_notices(session, principal, state=state, limit=limit)]


@router.post("/v1/staff/notices", status_code=201, response_model=NoticeOut)
async def create_notice(body: NoticeIn, session: AsyncSession = SESSION,
                        principal: StaffPrincipal = Depends(operators)):
    """A draft. Nothing is sent until it is submitted (and, for a live level 4/5, approved)."""
    return view(await service.create_draft(session, principal, body))


@router.get("/v1/staff/notices/{notice_id}", response_model=NoticeOut)
async def get_notice(notice_id: RowId, session: AsyncSession = SESSION,
                     principal: StaffPrincipal = Depends(readers)):
    return view(await service.get_notice(session, principal, notice_id))


@router.post("/v1/staff/notices/{notice_id}/preview", response_model=NoticePreview)
async def preview_notice(notice_id: RowId, session: AsyncSession = SESSION,
                         principal: StaffPrincipal = Depends(readers)):
    """Who this notice would tell what if it were issued now: counts per outcome (new, raise,
    lower, clear, cancel, hold), whether it is life-critical, its level on the common danger
    scale, and one message per outcome and language — by the fan-out's own rules, on the
    residents' current state. Nothing is sent or kept; no resident is named."""
    return await flows.preview(session, await service.get_notice(session, principal, notice_id))


@router.patch("/v1/staff/notices/{notice_id}", response_model=NoticeOut)
async def edit_notice(notice_id: RowId, body: NoticeChanges, session: AsyncSession = SESSION,
                      principal: StaffPrincipal = Depends(operators)):
    return view(await service.update_draft(session, principal, notice_id, body))


@router.post("/v1/staff/notices/{notice_id}/submit", response_model=NoticeOut)
async def submit_notice(notice_id: RowId, session: AsyncSession = SESSION,
                        principal: StaffPrincipal = Depends(operators)):
    return view(await flows.submit(session, principal, notice_id))


@router.post("/v1/staff/notices/{notice_id}/approve", response_model=NoticeOut)
async def approve_notice(notice_id: RowId, session: AsyncSession = SESSION,
                         principal: StaffPrincipal = Depends(operators)):
    """The second person: anyone with an operator role over the notice's area, other than its author."""
    return view(await flows.approve(session, principal, notice_id))


@router.post("/v1/staff/notices/{notice_id}/reject", response_model=NoticeOut)
async def reject_notice(notice_id: RowId, body: RejectIn, session: AsyncSession = SESSION,
                        principal: StaffPrincipal = Depends(operators)):
    return view(await service.reject(session, principal, notice_id, body.note))


@router.post("/v1/staff/notices/{notice_id}/discard", response_model=NoticeOut)
async def discard_notice(notice_id: RowId, session: AsyncSession = SESSION,
                         principal: StaffPrincipal = Depends(operators)):
    return view(await service.discard(session, principal, notice_id))


@router.post("/v1/staff/notices/{notice_id}/correction", status_code=201, response_model=NoticeOut)
async def correct_notice(notice_id: RowId, body: NoticeChanges, session: AsyncSession = SESSION,
                         principal: StaffPrincipal = Depends(operators)):
    """A ready-made correction draft (msg_type update); submit it like any notice."""
    return view(await service.prepare_correction(session, principal, notice_id, body))


@router.post("/v1/staff/notices/{notice_id}/cancel", response_model=NoticeOut)
async def cancel_notice(notice_id: RowId, body: RejectIn | None = None, session: AsyncSession = SESSION,
                        principal: StaffPrincipal = Depends(operators)):
    """Withdraw a notice sent in error: goes out at once to exactly those who received it."""
    return view(await flows.cancel(session, principal, notice_id, body.note if body else None))


@router.get("/v1/staff/districts", response_model=list[DistrictWithGeometry])
async def list_districts(municipality_code: str | None = Query(None, pattern=r"^[0-9]{6}$"),
                         session: AsyncSession = SESSION, principal: StaffPrincipal = Depends(readers)):
    return await service.list_districts(session, principal, municipality_code)


@router.post("/v1/staff/districts", status_code=201, response_model=DistrictOut)
async def create_district(body: DistrictIn, session: AsyncSession = SESSION,
                          principal: StaffPrincipal = Depends(operators)):
    d = await service.create_district(session, principal, body)
    return {"id": d.id, "municipality_code": d.municipality_code, "name": d.name}
