"""My Evacuation sheet: ``/v1/me/plan`` (home) and ``?place_id=`` for a plan at another place."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from my_evacuation.plans import service
from my_evacuation.plans.schemas import PlanBody, PlanOut, SuggestionsOut, VersionSummary
from my_evacuation.residents.deps import current_device
from my_evacuation.residents.service import CurrentDevice
from server.deps import SESSION

router = APIRouter(tags=["my evacuation"])

PlaceParam = Query(default=None, ge=1, description="a registered place; omitted = the home plan")


@router.get("/v1/me/plan", response_model=PlanOut)
async def get_plan(place_id: int | None = PlaceParam, session: AsyncSession = SESSION,
                   current: CurrentDevice = Depends(current_device)):
    """The current version, with its completeness score (0–100), what is missing, and warnings
    (e.g. a shelter chosen for a hazard it is not designated for)."""
    return await service.localized(session, await service.get_plan(session, current.resident_id, place_id),
                                   current.device_id)


@router.put("/v1/me/plan", response_model=PlanOut)
async def put_plan(body: PlanBody, place_id: int | None = PlaceParam,
                   expected_version: int | None = Query(default=None, ge=0, description="optimistic concurrency"),
                   session: AsyncSession = SESSION, current: CurrentDevice = Depends(current_device)):
    """Save the whole sheet as a new version; the previous versions are kept."""
    saved = await service.save_plan(session, current.resident_id, place_id, body, expected_version)
    return await service.localized(session, saved, current.device_id)


@router.get("/v1/me/plan/history", response_model=list[VersionSummary])
async def plan_history(place_id: int | None = PlaceParam, session: AsyncSession = SESSION,
                       current: CurrentDevice = Depends(current_device)):
    return await service.history(session, current.resident_id, place_id)


@router.get("/v1/me/plan/versions/{version}", response_model=PlanOut)
async def plan_version(version: int, place_id: int | None = PlaceParam, session: AsyncSession = SESSION,
                       current: CurrentDevice = Depends(current_device)):
    plan = await service.get_plan(session, current.resident_id, place_id, version=max(version, 0) or -1)
    return await service.localized(session, plan, current.device_id)


@router.get("/v1/me/plan/suggestions", response_model=SuggestionsOut)
async def plan_suggestions(place_id: int | None = PlaceParam, session: AsyncSession = SESSION,
                           current: CurrentDevice = Depends(current_device)):
    """Hazards at home suggested from the project's data, for the resident to confirm."""
    return await service.suggestions(session, current.resident_id, place_id)
