"""Areas: where a point is (public), and the area lists the apps and consoles show."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from geo.areas import service
from geo.areas.geocoder import Geocoder, load_geocoder
from geo.areas.models import AREA_KINDS
from geo.areas.schemas import AreaOut, ResolvedArea
from server.deps import SESSION
from server.errors import AppError

router = APIRouter(tags=["areas"])


async def on_startup(app) -> None:
    """Load the in-memory geocoder once per process (61 polygons, a few ms)."""
    async with app.state.sessionmaker() as session:
        app.state.geocoder = await load_geocoder(session, snap_m=app.state.settings.geocode_snap_meters)


def get_geocoder(request: Request) -> Geocoder:
    return request.app.state.geocoder


def resolved_area(geocoder: Geocoder, codes) -> ResolvedArea:
    if codes is None:
        return ResolvedArea()
    return ResolvedArea.model_validate(resolved_area_dict(geocoder, codes))


def resolved_area_dict(geocoder: Geocoder, codes) -> dict:
    """JSON-ready labels of the resolved codes; built once per area (61 of them), then reused."""
    if codes is None:
        return ResolvedArea().model_dump()
    labels = geocoder.label_cache.get(codes.jma_city_code)
    if labels is None:
        labels = _labels(geocoder, codes)
        geocoder.label_cache[codes.jma_city_code] = labels
    return {**labels, "snapped_m": codes.snapped_m}


def _labels(geocoder: Geocoder, codes) -> dict:
    n = geocoder.names

    def cn(kind, code):
        return {"code": code, "name": n.get((kind, code))} if code else None

    return dict(
        municipality=cn("municipality", codes.municipality_code),
        jma_city=cn("jma_city", codes.jma_city_code),
        jma_matome=cn("jma_matome", codes.jma_matome_code),
        jma_first=cn("jma_first", codes.jma_first_code),
        jma_pref=cn("jma_pref", codes.jma_pref_code),
        quake_area=cn("quake", codes.quake_area_code),
        tsunami_area=cn("tsunami", codes.tsunami_area_code),
    )


@router.get("/v1/areas/locate", response_model=ResolvedArea)
async def locate(
    lat: float = Query(ge=-90, le=90, allow_inf_nan=False),
    lon: float = Query(ge=-180, le=180, allow_inf_nan=False),
    geocoder: Geocoder = Depends(get_geocoder),
):
    """The municipality and JMA area codes of a point (all null outside the prefecture)."""
    return resolved_area(geocoder, geocoder.locate(lat, lon))


@router.get("/v1/areas", response_model=list[AreaOut], response_model_exclude_unset=True)
async def list_areas(
    kind: str = Query("municipality", description=f"one of {', '.join(AREA_KINDS)}"),
    geometry: bool = Query(False, description="include simplified GeoJSON geometry"),
    session: AsyncSession = SESSION,
):
    if kind not in AREA_KINDS:
        raise AppError(f"unknown area kind {kind!r}", code="unknown_area_kind", detail={"kinds": list(AREA_KINDS)})
    return await service.list_areas(session, kind, geometry=geometry)
