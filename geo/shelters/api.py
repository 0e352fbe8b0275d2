"""Public shelter endpoints: nearest suitable shelters and one shelter. No auth (public information)."""

from __future__ import annotations

import gzip
from typing import Annotated

import orjson

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from geo.shelters import service
from geo.shelters.schemas import Hazard, NearbyShelters, OfflinePack, ShelterOut
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


@router.get(
    "/pack",
    responses={
        200: {"model": OfflinePack, "description": "The pack (gzipped when the client accepts it)"},
        304: {"description": "Unchanged since the `If-None-Match` ETag: no body"},
    },
)
async def offline_pack(
    request: Request,
    municipality: Annotated[str | None, Query(description="6-digit municipality code; none: the whole prefecture")] = None,
    session: AsyncSession = SESSION,
):
    """Every shelter (of one municipality, or the prefecture) for offline search: position,
    hazards (bit i = ``hazards[i]``), flags, capacity. ``ETag`` is the content's version; send
    it back as ``If-None-Match`` and an unchanged pack answers 304 with no body."""
    pack, version = await service.offline_pack(session, municipality)
    etag = f'"{version}"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300", "Vary": "Accept-Encoding"}
    inm = request.headers.get("if-none-match")
    if inm and etag in [t.strip().removeprefix("W/") for t in inm.split(",")]:
        return Response(status_code=304, headers=headers)
    body = orjson.dumps(pack)
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        # The prefecture's pack is ~350 kB of JSON, ~80 kB gzipped (いわき市 alone: 61 → 15 kB): it goes to phones.
        body = gzip.compress(body, compresslevel=6, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Response(content=body, media_type="application/json", headers=headers)


@router.get("/{shelter_id:path}", response_model=ShelterOut)
async def get_shelter(shelter_id: str, session: AsyncSession = SESSION):
    return await service.get(session, shelter_id)
