"""Public shelter endpoints: nearest suitable shelters and one shelter. No auth (public information)."""

from __future__ import annotations

import gzip
import re
from typing import Annotated

import orjson

from fastapi import APIRouter, Query, Request, Response
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from geo.shelters import service
from geo.shelters.schemas import Hazard, NearbyShelters, OfflinePack, ShelterOut
from server import fastpath
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


# What the fast path reads itself; any other spelling (1e1, "yes", " 37.5") goes to the route,
# whose validation is the reference.
_NUMBER = re.compile(r"-?\d{1,3}(\.\d{1,15})?")
_LIMIT = re.compile(r"\d{1,2}")
_BOOLS = {"true": True, "false": False}
_HAZARDS = frozenset(h.value for h in Hazard)
_NEAREST_QUERY = frozenset({"lat", "lon", "hazard", "open", "available", "limit"})
_NEARBY_JSON = TypeAdapter(NearbyShelters)


async def _fast_nearest(req: fastpath.FastGet) -> bytes | None:
    """``GET /v1/shelters?lat=&lon=`` (with ``hazard``, ``open``, ``available``, ``limit``)
    from this process's per-area candidates (``service.nearest_cached``), without the
    framework or a request session. Anything it does not read plainly, or a point the
    cache does not cover, goes to the route above (``server.fastpath``)."""
    q = req.query(_NEAREST_QUERY)
    if q is None or "lat" not in q or "lon" not in q:
        return None
    lat_s, lon_s, limit_s = q["lat"], q["lon"], q.get("limit", "10")
    hazard, open_s, available_s = q.get("hazard"), q.get("open"), q.get("available", "false")
    if not (_NUMBER.fullmatch(lat_s) and _NUMBER.fullmatch(lon_s) and _LIMIT.fullmatch(limit_s)
            and (hazard is None or hazard in _HAZARDS) and (open_s is None or open_s in _BOOLS)
            and available_s in _BOOLS):
        return None
    lat, lon, limit = float(lat_s), float(lon_s), int(limit_s)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180 and 1 <= limit <= service.MAX_LIMIT):
        return None
    rows = await service.nearest_cached(req.state.sessionmaker, lat=lat, lon=lon, hazard=hazard,
                                        is_open=None if open_s is None else _BOOLS[open_s],
                                        available=_BOOLS[available_s], limit=limit)
    if rows is None:
        return None
    return _NEARBY_JSON.dump_json(_NEARBY_JSON.validate_python({"hazard": hazard, "shelters": rows}), by_alias=True)


def install_middleware(app) -> None:
    fastpath.add(app, "/v1/shelters", _fast_nearest)


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
