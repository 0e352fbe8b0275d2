"""Public shelter endpoints: nearest suitable shelters and one shelter. No auth (public information)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from geo.shelters import service
from geo.shelters.schemas import Hazard, NearbyShelters, ShelterOut
from server.deps import SESSION

router = APIRouter(prefix="/v1/shelters", tags=["shelters"])


@router.get("", response_model=NearbyShelters)
async def nearest_shelters(
    lat: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False, description="WGS84 latitude")],
    lon: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False, description="WGS84 longitude")],
    hazard: Annotated[Hazard | None, Query(description="only sites GSI designates for this hazard")] = None,
    open: Annotated[bool | None, Query(description="true: open shelters only; false: closed only")] = None,
    available: Annotated[bool, Query(description="leave out full shelters (≥ 80 % of capacity)")] = False,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIMIT)] = 10,
    session: AsyncSession = SESSION,
):
    """Nearest shelters by distance, suitable for ``hazard`` when given."""
    h = hazard.value if hazard is not None else None
    rows = await service.nearest(session, lat=lat, lon=lon, hazard=h, is_open=open, available=available, limit=limit)
    return {"hazard": h, "shelters": rows}


@router.get("/{shelter_id:path}", response_model=ShelterOut)
async def get_shelter(shelter_id: str, session: AsyncSession = SESSION):
    return await service.get(session, shelter_id)
