"""Reading the audit log (there is no route that changes it)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.staff.audit.schemas import AuditEntryOut
from alerts.staff.audit.service import list_entries, present
from server.deps import SESSION
from alerts.staff.deps import require_staff
from alerts.staff.principal import StaffPrincipal

router = APIRouter(tags=["staff"])

audit_readers = require_staff(roles=("admin", "prefecture", "municipal"))


@router.get("/v1/staff/audit", response_model=list[AuditEntryOut])
async def read_audit(
    target_type: str | None = Query(None, max_length=32),
    target_id: str | None = Query(None, max_length=200),
    action: str | None = Query(None, max_length=64),
    municipality_code: str | None = Query(None, pattern=r"^[0-9]{6}$"),
    before_id: int | None = Query(None, ge=1),
    limit: int = Query(100, ge=1, le=500),
    session: AsyncSession = SESSION,
    principal: StaffPrincipal = Depends(audit_readers),
):
    """Newest first. Municipal operators see only entries about their municipality."""
    municipality_code = principal.scope_filter(municipality_code, "that municipality's log")
    entries = await list_entries(
        session,
        municipality_code=municipality_code,
        restrict_to_municipality=not principal.prefecture_wide,
        target_type=target_type,
        target_id=target_id,
        action=action,
        before_id=before_id,
        limit=limit,
    )
    return [present(e) for e in entries]
