"""Resident devices: register, rotate the token, move a push address, erase everything."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from my_evacuation.places import repository as places_repo
from my_evacuation.residents import repository as repo
from my_evacuation.residents.models import Device, Resident
from my_evacuation.residents.schemas import DeviceRegistration, DeviceUpdate
from server.bearer import hash_token, new_token
from server.errors import AppError, Conflict, LimitExceeded, Unauthorized
from my_evacuation.push.providers.endpoints import EndpointNotPublic, require_public
from my_evacuation.push.providers.log import forget_devices


@dataclass(slots=True)
class CurrentDevice:
    device_id: int
    resident_id: int


async def authenticate(session: AsyncSession, token: str) -> CurrentDevice:
    row = await repo.device_by_token_hash(session, hash_token(token))
    if row is None:
        raise Unauthorized("unknown or revoked token")
    return CurrentDevice(device_id=row[0], resident_id=row[1])


async def authenticate_raw(raw: Any, token: str) -> CurrentDevice | None:
    """The device of this token on a driver connection (the GET fast paths); None when unknown."""
    row = await repo.device_by_token_hash_raw(raw, hash_token(token))
    return None if row is None else CurrentDevice(device_id=row[0], resident_id=row[1])


async def _check_push_address(kind: str | None, address: str | None) -> None:
    if kind == "webpush" and address:
        try:
            # Its shape was checked with the payload; here what its name resolves to (a name
            # that does not resolve now is checked again before every send).
            await require_public(address, unresolved_ok=True)
        except EndpointNotPublic as exc:
            raise AppError(str(exc), code="endpoint_not_public", status_code=422) from exc


async def _move_push_address(
    session: AsyncSession, kind: str | None, address: str | None, current: CurrentDevice | None, keep_device: int | None
) -> int | None:
    """Move a push address off the device holding it, so it is never registered twice — but only
    for the holder's own resident (a request with the bearer token of one of its devices).
    Anyone else who sends it gets 409: a push address is no credential, and moving it silenced
    that phone and routed its family's messages elsewhere. A push address names one app
    install, so the device it moves from is that install's earlier registration: it is
    removed, and its bearer token stops working with it."""
    if not kind or not address:
        return None
    holder = await repo.lock_push_address_holder(session, kind, address)
    if holder is None or holder.id == keep_device:
        return None
    if current is None or holder.resident_id != current.resident_id:
        raise Conflict(
            "this push address belongs to another device; send that device's bearer token to move it here",
            code="push_address_in_use",
        )
    await repo.delete_device(session, holder.id)
    return holder.id


async def register_device(
    session: AsyncSession, reg: DeviceRegistration, current: CurrentDevice | None, *, max_devices: int = 10
) -> tuple[Device, str, int | None]:
    """New device, for a new resident, or for the caller's resident when a valid token is sent."""
    kind, address = reg.push_address()
    await _check_push_address(kind, address)
    if current is not None:
        devices = await repo.count_devices(session, current.resident_id)
        moving = kind is not None and await repo.holds_push_address(session, current.resident_id, kind, address)
        if devices >= max_devices and not moving:
            raise LimitExceeded(f"at most {max_devices} devices per resident; unregister one first",
                                detail={"limit": max_devices})
    if current is None:
        resident = Resident(language=reg.language)
        session.add(resident)
        await session.flush()
        resident_id = resident.id
    else:
        resident_id = current.resident_id
    moved_from = await _move_push_address(session, kind, address, current, keep_device=None)
    token = new_token()
    device = Device(
        resident_id=resident_id,
        platform=reg.platform,
        push_kind=kind,
        push_token=address,
        webpush_subscription=reg.webpush_subscription.model_dump(mode="json") if reg.webpush_subscription else None,
        language=reg.language,
        app_version=reg.app_version,
        token_hash=hash_token(token),
    )
    session.add(device)
    await session.flush()
    return device, token, moved_from


async def update_device(session: AsyncSession, current: CurrentDevice, upd: DeviceUpdate) -> Device:
    device = await session.get(Device, current.device_id)
    if upd.apns_token and device.platform != "ios":
        raise AppError("apns_token is for platform ios", code="wrong_platform", status_code=422)
    if upd.webpush_subscription and device.platform != "web":
        raise AppError("webpush_subscription is for platform web", code="wrong_platform", status_code=422)
    reg_like = DeviceRegistration(
        platform=device.platform,
        fcm_token=upd.fcm_token,
        fcm_installation_id=upd.fcm_installation_id,
        apns_token=upd.apns_token,
        webpush_subscription=upd.webpush_subscription,
    )
    kind, address = reg_like.push_address()
    if kind:
        await _check_push_address(kind, address)
        await _move_push_address(session, kind, address, current, keep_device=device.id)
        device.push_kind, device.push_token = kind, address
        device.webpush_subscription = (
            upd.webpush_subscription.model_dump(mode="json") if upd.webpush_subscription else None
        )
    if upd.language:
        device.language = upd.language
        await repo.set_language(session, device.resident_id, upd.language)
    if upd.app_version:
        device.app_version = upd.app_version
    await session.flush()
    return device


async def rotate_token(session: AsyncSession, current: CurrentDevice) -> str:
    token = new_token()
    await repo.set_token_hash(session, current.device_id, hash_token(token))
    return token


async def get_me(session: AsyncSession, current: CurrentDevice) -> tuple[Resident, list[Device], int]:
    """The resident, their devices and how many places they registered (current location aside)."""
    resident = await session.get(Resident, current.resident_id)
    if resident is None:  # erased between the token check and here
        raise Unauthorized("unknown device token")
    devices = await repo.devices_of(session, current.resident_id)
    return resident, devices, await places_repo.count_registered(session, current.resident_id)


async def erase_resident(session: AsyncSession, current: CurrentDevice) -> None:
    """Erase the resident and everything of theirs: every table referencing residents does so ON
    DELETE CASCADE; the push log names devices by id only, so their rows go explicitly."""
    device_ids = await repo.device_ids_of(session, current.resident_id)
    await forget_devices(session, device_ids)
    await repo.delete_resident(session, current.resident_id)


async def delete_device(session: AsyncSession, current: CurrentDevice) -> None:
    await repo.delete_device(session, current.device_id)
