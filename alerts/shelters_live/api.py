"""Staff routes for shelters live: open / close, capacity, occupancy, hazards, pets; bulk per municipality."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.shelters_live import service
from alerts.shelters_live.schemas import BulkChange, BulkResult, ShelterChange, ShelterOpening, StaffShelterOut
from my_evacuation.residents.deps import current_device
from my_evacuation.residents.service import CurrentDevice
from server.deps import SESSION
from alerts.staff.deps import require_staff
from alerts.staff.principal import StaffPrincipal

router = APIRouter(tags=["staff: shelters"])

operators = require_staff(roles=("prefecture", "municipal"))
readers = require_staff(roles=("admin", "prefecture", "municipal", "viewer"))


@router.get("/v1/staff/shelters", response_model=list[StaffShelterOut], response_model_exclude_unset=True)
async def list_shelters(
    response: Response,
    municipality_code: str | None = Query(None, pattern=r"^[0-9]{6}$"),
    is_open: bool | None = None,
    q: str | None = Query(None, max_length=100, description="part of the name, kana, address or id"),
    limit: int = Query(500, ge=1, le=5000),
    offset: int = Query(0, ge=0, le=1_000_000),
    session: AsyncSession = SESSION,
    principal: StaffPrincipal = Depends(readers),
):
    """A page of the shelters in scope; ``X-Total-Count`` says how many match in all."""
    rows, total = await service.list_in_scope(session, principal, municipality_code=municipality_code, is_open=is_open,
                                              limit=limit, q=q, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    return [service.present(r) for r in rows]


@router.get("/v1/staff/shelters/{shelter_id}", response_model=StaffShelterOut, response_model_exclude_unset=True)
async def get_shelter(shelter_id: str, session: AsyncSession = SESSION,
                      principal: StaffPrincipal = Depends(readers)):
    return service.present(await service.get_in_scope(session, principal, shelter_id))


@router.patch("/v1/staff/shelters/{shelter_id}", response_model=StaffShelterOut, response_model_exclude_unset=True)
async def change_shelter(shelter_id: str, body: ShelterChange, session: AsyncSession = SESSION,
                         principal: StaffPrincipal = Depends(operators)):
    return service.present(await service.change(session, principal, shelter_id, body))


@router.post("/v1/staff/shelters/{shelter_id}/open", response_model=StaffShelterOut, response_model_exclude_unset=True)
async def open_shelter(shelter_id: str, session: AsyncSession = SESSION,
                       principal: StaffPrincipal = Depends(operators)):
    return service.present(await service.change(session, principal, shelter_id, ShelterChange(is_open=True)))


@router.post("/v1/staff/shelters/{shelter_id}/close", response_model=StaffShelterOut, response_model_exclude_unset=True)
async def close_shelter(shelter_id: str, session: AsyncSession = SESSION,
                        principal: StaffPrincipal = Depends(operators)):
    return service.present(await service.change(session, principal, shelter_id, ShelterChange(is_open=False)))


@router.post("/v1/staff/shelters/bulk", response_model=BulkResult)
async def bulk_change(body: BulkChange, session: AsyncSession = SESSION,
                      principal: StaffPrincipal = Depends(operators)):
    """Open or close every (or the listed) shelter of one municipality."""
    return await service.bulk(session, principal, body)


@router.get("/v1/me/shelter-openings", tags=["shelters"], response_model=list[ShelterOpening])
async def my_shelter_openings(session: AsyncSession = SESSION, current: CurrentDevice = Depends(current_device)):
    """The open shelters that concern you now: named in your plan, or near your places while an
    alert you were told of is in force. Openings held back by your quiet hours are here too."""
    return [service.present(o) for o in await service.openings_for(session, current.resident_id)]
