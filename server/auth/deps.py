"""Resident authentication: ``Authorization: Bearer <token>`` → the calling device."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.service import CurrentDevice, authenticate
from server.deps import SESSION
from server.auth.tokens import MalformedAuthorization, bearer_from_header
from server.errors import Unauthorized


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
