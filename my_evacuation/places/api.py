"""Residents' places (``/v1/me/places``) and current location (``/v1/me/location``)."""

from __future__ import annotations

from datetime import timedelta

import orjson
from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from geo.areas.api import get_geocoder, resolved_area, resolved_area_dict
from geo.areas.geocoder import Geocoder
from my_evacuation.places import repository as repo
from my_evacuation.places import service
from my_evacuation.places.schemas import LocationIn, LocationOut, PlaceIn, PlaceOut, PlacePatch
from my_evacuation.residents.deps import bearer_token, current_device
from my_evacuation.residents.service import CurrentDevice
from server import fastpath
from server.bearer import MalformedAuthorization, asgi_authorization, bearer_from_header, hash_token
from server.deps import SESSION
from server.errors import AppError, NotFound, Unauthorized, error_body

router = APIRouter(tags=["places"])


def _place_out(geocoder: Geocoder, row) -> PlaceOut:
    return PlaceOut(
        id=row["id"],
        kind=row["kind"],
        label=row["label"],
        lat=row["lat"],
        lon=row["lon"],
        accuracy_m=row["accuracy_m"],
        area=resolved_area(geocoder, service.codes_of_row(row)),
        expires_at=row["expires_at"].isoformat() if row["expires_at"] else None,
    )


@router.get("/v1/me/places", response_model=list[PlaceOut])
async def list_places(
    session: AsyncSession = SESSION,
    current: CurrentDevice = Depends(current_device),
    geocoder: Geocoder = Depends(get_geocoder),
):
    return [_place_out(geocoder, r) for r in await repo.list_places(session, current.resident_id)]


@router.post("/v1/me/places", status_code=201, response_model=PlaceOut)
async def add_place(
    body: PlaceIn,
    request: Request,
    session: AsyncSession = SESSION,
    current: CurrentDevice = Depends(current_device),
    geocoder: Geocoder = Depends(get_geocoder),
):
    """Register a place (home, work, school, family, other). Its municipality and JMA codes are
    resolved and stored; a point outside the prefecture is stored with no codes."""
    limit = request.app.state.settings.max_places_per_resident
    place_id = await service.add_place(session, geocoder, current.resident_id, body, limit)
    return _place_out(geocoder, await repo.get_place(session, current.resident_id, place_id))


@router.get("/v1/me/places/{place_id}", response_model=PlaceOut)
async def get_place(
    place_id: int,
    session: AsyncSession = SESSION,
    current: CurrentDevice = Depends(current_device),
    geocoder: Geocoder = Depends(get_geocoder),
):
    row = await repo.get_place(session, current.resident_id, place_id)
    if row is None:
        raise NotFound(f"place {place_id} not found")
    return _place_out(geocoder, row)


@router.patch("/v1/me/places/{place_id}", response_model=PlaceOut)
async def patch_place(
    place_id: int,
    body: PlacePatch,
    session: AsyncSession = SESSION,
    current: CurrentDevice = Depends(current_device),
    geocoder: Geocoder = Depends(get_geocoder),
):
    await service.patch_place(session, geocoder, current.resident_id, place_id, body)
    return _place_out(geocoder, await repo.get_place(session, current.resident_id, place_id))


@router.delete("/v1/me/places/{place_id}", status_code=204)
async def delete_place(
    place_id: int, session: AsyncSession = SESSION, current: CurrentDevice = Depends(current_device)
):
    if not await repo.delete_place(session, current.resident_id, place_id):
        raise NotFound(f"place {place_id} not found")
    return Response(status_code=204)


async def _store_location(state, token: str | None, body: LocationIn) -> dict:
    if token is None:
        raise Unauthorized("missing bearer token")
    geocoder = state.geocoder if state.settings.geocode_on_write else None
    retention = timedelta(hours=state.settings.location_retention_hours)
    row, codes, expires_at = await service.set_location(state.raw_pg, geocoder, hash_token(token), body, retention)
    if row is None:
        raise Unauthorized("unknown or revoked token")
    return {
        "id": row[0],
        "lat": body.lat,
        "lon": body.lon,
        "accuracy_m": body.accuracy_m,
        "area": resolved_area_dict(state.geocoder, codes),
        "expires_at": expires_at.isoformat(),
    }


@router.put("/v1/me/location", response_model=LocationOut)
async def put_location(body: LocationIn, request: Request):
    """The device's current location (kept settings.location_retention_hours). Authenticates and
    upserts in one statement: this is the hottest write in the service.

    Served by :class:`LocationFastPath` in front of the router; this route documents it and
    answers when the fast path is not installed."""
    return await _store_location(request.app.state, bearer_token(request), body)


class LocationFastPath:
    """``PUT /v1/me/location`` without the framework's per-request machinery (routing,
    dependency injection, response encoding), which costs more CPU than the work itself.
    Same validation (the route's own pydantic model), same errors, same answer."""

    PATH = "/v1/me/location"

    def __init__(self, app, fastapi_app):
        self.app = app
        self.fastapi_app = fastapi_app
        self.route = fastpath.RouteTemplate(self.PATH)  # counted under its route in the metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != self.PATH or scope["method"] != "PUT":
            return await self.app(scope, receive, send)
        scope["route"] = self.route
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        status, payload = await self._handle(scope, b"".join(chunks))
        body = orjson.dumps(payload)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _handle(self, scope, raw: bytes) -> tuple[int, dict]:
        try:
            body = LocationIn.model_validate_json(raw)
        except ValidationError as exc:
            detail = [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
            return 422, error_body("request validation failed", "validation_error", detail)
        try:
            token = bearer_from_header(asgi_authorization(scope))
        except MalformedAuthorization as exc:
            return 401, error_body(str(exc), "unauthorized")
        try:
            out = await _store_location(self.fastapi_app.state, token, body)
        except AppError as exc:
            return exc.status_code, error_body(exc.message, exc.code, exc.detail)
        return 200, out


def install_middleware(app) -> None:
    app.add_middleware(LocationFastPath, fastapi_app=app)


@router.get("/v1/me/location", response_model=PlaceOut)
async def get_location(
    session: AsyncSession = SESSION,
    current: CurrentDevice = Depends(current_device),
    geocoder: Geocoder = Depends(get_geocoder),
):
    row = await repo.get_current_location(session, current.device_id)
    if row is None:
        raise NotFound("no current location")
    return _place_out(geocoder, row)


@router.delete("/v1/me/location", status_code=204)
async def delete_location(session: AsyncSession = SESSION, current: CurrentDevice = Depends(current_device)):
    await repo.delete_current_location(session, current.device_id)
    return Response(status_code=204)
