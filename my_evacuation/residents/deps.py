"""Resident authentication: ``Authorization: Bearer <token>`` → the calling device."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from my_evacuation.residents.service import CurrentDevice, authenticate
from server.deps import SESSION
from server.bearer import MalformedAuthorization, bearer_from_header
from server.errors import Unauthorized
from server.openapi_docs import declare_security


def bearer_token(request: Request) -> str | None:
    try:
        return bearer_from_header(request.headers.get("authorization"))
    except MalformedAuthorization as exc:
        raise Unauthorized(str(exc)) from exc


async def current_device(request: Request, session: AsyncSession = SESSION) -> CurrentDevice:
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("missing bearer token")
    return await authenticate(session, token)


async def optional_device(request: Request, session: AsyncSession = SESSION) -> CurrentDevice | None:
    token = bearer_token(request)
    return None if token is None else await authenticate(session, token)


RESIDENT_BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "A resident device's token, returned by `POST /v1/devices` (and `POST /v1/devices/token`).",
}
declare_security(current_device, "residentBearer", RESIDENT_BEARER)
declare_security(optional_device, "residentBearer", RESIDENT_BEARER, optional=True)
