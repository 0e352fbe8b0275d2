"""Resident devices: ``POST /v1/devices``, token rotation, ``GET/DELETE /v1/me``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from my_evacuation.residents import service
from my_evacuation.residents.deps import current_device, optional_device
from my_evacuation.residents.schemas import DeviceOut, DeviceRegistered, DeviceRegistration, DeviceUpdate, MeOut, TokenRotated
from my_evacuation.residents.service import CurrentDevice
from server.deps import SESSION

router = APIRouter(tags=["residents"])


def _device_out(d) -> DeviceOut:
    return DeviceOut(id=d.id, platform=d.platform, push_kind=d.push_kind, language=d.language, app_version=d.app_version)


@router.post("/v1/devices", status_code=201, response_model=DeviceRegistered)
async def register_device(
    reg: DeviceRegistration,
    request: Request,
    session: AsyncSession = SESSION,
    current: CurrentDevice | None = Depends(optional_device),
):
    """Register a device. Without a token this creates a new resident; with a valid token the
    device joins the caller's resident (a second phone). A push address registered before is
    moved here, never duplicated, and only with a bearer token of the resident holding it (else 409);
    the device it moves from (the same app install, registered before) is removed."""
    device, token, moved_from = await service.register_device(
        session, reg, current, max_devices=request.app.state.settings.max_devices_per_resident
    )
    return DeviceRegistered(resident_id=device.resident_id, device_id=device.id, token=token, moved_from_device_id=moved_from)


@router.patch("/v1/me/device", response_model=DeviceOut)
async def update_device(
    upd: DeviceUpdate, session: AsyncSession = SESSION, current: CurrentDevice = Depends(current_device)
):
    """New push address (the OS rotated it), language or app version for the calling device."""
    return _device_out(await service.update_device(session, current, upd))


@router.post("/v1/me/token", response_model=TokenRotated)
async def rotate_token(session: AsyncSession = SESSION, current: CurrentDevice = Depends(current_device)):
    """Replace the calling device's bearer token; the old one stops working at once."""
    return TokenRotated(token=await service.rotate_token(session, current))


@router.get("/v1/me", response_model=MeOut)
async def get_me(session: AsyncSession = SESSION, current: CurrentDevice = Depends(current_device)):

    resident, devices, count = await service.get_me(session, current)
    return MeOut(resident_id=resident.id, language=resident.language, devices=[_device_out(d) for d in devices], place_count=count)


@router.delete("/v1/me/device", status_code=204)
async def delete_device(session: AsyncSession = SESSION, current: CurrentDevice = Depends(current_device)):
    """Unregister the calling device (sign out); the resident and their data stay."""
    await service.delete_device(session, current)
    return Response(status_code=204)


@router.delete("/v1/me", status_code=204)
async def erase_me(session: AsyncSession = SESSION, current: CurrentDevice = Depends(current_device)):
    """Erase the resident and everything of theirs: devices, places, plans, statuses."""
    await service.erase_resident(session, current)
    return Response(status_code=204)
