"""Staff reports: delivery figures and safety answers (JSON and CSV). Readers of every role, scoped."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Path
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.reports import service
from alerts.reports.schemas import ActiveAlert, AlertReport, NoticeReport, SafetyReport
from server.deps import SESSION
from server.schemas import CsvResponse, text_body
from alerts.staff.deps import require_staff
from alerts.staff.principal import StaffPrincipal

# Postgres bigint: a larger id is a bad request (422), never a database error.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]

router = APIRouter(tags=["staff: reports"])

readers = require_staff(roles=("admin", "prefecture", "municipal", "viewer"))


def _csv(body: str, name: str) -> Response:
    # BOM so Excel (what municipal offices open CSV with) reads UTF-8 Japanese correctly.
    return Response("\ufeff" + body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# The .csv route first: the JSON route's {notice_id} would otherwise swallow '12.csv'.
@router.get("/v1/staff/reports/notices/{notice_id}.csv", response_class=CsvResponse, responses=text_body("text/csv"))
async def notice_report_csv(notice_id: RowId, session: AsyncSession = SESSION,
                            principal: StaffPrincipal = Depends(readers)):
    rep = await service.notice_report(session, principal, notice_id)
    rows = service.alert_rows(rep["messages"])
    return _csv(service.to_csv(rows, ["notice_id", "level", *service.ALERT_COLUMNS]), f"notice-{notice_id}.csv")


@router.get("/v1/staff/reports/notices/{notice_id}", response_model=NoticeReport)
async def notice_report(notice_id: RowId, session: AsyncSession = SESSION,
                        principal: StaffPrincipal = Depends(readers)):
    return await service.notice_report(session, principal, notice_id)


@router.get("/v1/staff/reports/alerts", response_model=list[AlertReport])
async def alerts_report(municipality_code: str | None = Query(None, pattern=r"^[0-9]{6}$"),
                        limit: int = Query(50, ge=1, le=500), session: AsyncSession = SESSION,
                        principal: StaffPrincipal = Depends(readers)):
    return await service.recent_alerts(session, principal, municipality_code, limit)


@router.get("/v1/staff/reports/alerts.csv", response_class=CsvResponse, responses=text_body("text/csv"))
async def alerts_report_csv(municipality_code: str | None = Query(None, pattern=r"^[0-9]{6}$"),
                            limit: int = Query(200, ge=1, le=500), session: AsyncSession = SESSION,
                            principal: StaffPrincipal = Depends(readers)):
    reports = await service.recent_alerts(session, principal, municipality_code, limit)
    return _csv(service.to_csv(service.alert_rows(reports), service.ALERT_COLUMNS), "alerts.csv")


@router.get("/v1/staff/reports/active-alerts", response_model=list[ActiveAlert])
async def active_alerts(limit: int = Query(200, ge=1, le=1000), session: AsyncSession = SESSION,
                        principal: StaffPrincipal = Depends(readers)):
    """Alerts in force (public information), for the console map."""
    from alerts.reports import repository

    rows = await repository.active_alerts(session, limit)
    for r in rows:
        r["issued_at"] = r["issued_at"].isoformat()
        r["area_codes"] = list(r["area_codes"] or [])
    return rows


@router.get("/v1/staff/reports/safety", response_model=SafetyReport)
async def safety_report(municipality_code: str | None = Query(None, pattern=r"^[0-9]{6}$"),
                        event_key: str | None = Query(None, max_length=300), session: AsyncSession = SESSION,
                        principal: StaffPrincipal = Depends(readers)):
    return await service.safety(session, principal, municipality_code, event_key)


@router.get("/v1/staff/reports/safety.csv", response_class=CsvResponse, responses=text_body("text/csv"))
async def safety_report_csv(municipality_code: str | None = Query(None, pattern=r"^[0-9]{6}$"),
                            event_key: str | None = Query(None, max_length=300),
                            session: AsyncSession = SESSION, principal: StaffPrincipal = Depends(readers)):
    rep = await service.safety(session, principal, municipality_code, event_key)
    statuses = sorted({s for m in rep["by_municipality"] for s in m["counts"]})
    rows = [{"municipality_code": m["municipality_code"], "total": m["total"], **m["counts"]} for m in rep["by_municipality"]]
    return _csv(service.to_csv(rows, ["municipality_code", "total", *statuses]), "safety.csv")
