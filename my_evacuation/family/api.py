"""Family groups (``/v1/groups``) and the resident's safety status (``/v1/me/safety``).

A group you are not in answers 404 everywhere, so its existence never leaks.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Response
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from my_evacuation import flows
from my_evacuation.family import service, statuses
from my_evacuation.family.schemas import GroupCreate, GroupOut, InviteCreate, InviteOut, JoinIn, StatusIn, StatusOut
from my_evacuation.residents.deps import current_device
from my_evacuation.residents.service import CurrentDevice, authenticate_raw
from server import fastpath
from server.db import raw_connection
from server.deps import SESSION

router = APIRouter(tags=["family"])


@router.post("/v1/groups", status_code=201, response_model=GroupOut)
async def create_group(body: GroupCreate, session: AsyncSession = SESSION,
                       current: CurrentDevice = Depends(current_device)):
    return await service.create_group(session, current.resident_id, body)


@router.get("/v1/groups", response_model=list[GroupOut])
async def list_groups(session: AsyncSession = SESSION, current: CurrentDevice = Depends(current_device)):
    return await service.list_groups(session, current.resident_id)


@router.post("/v1/groups/join", response_model=GroupOut)
async def join_group(body: JoinIn, session: AsyncSession = SESSION,
                     current: CurrentDevice = Depends(current_device)):
    return await service.join(session, current.resident_id, body)


@router.get("/v1/groups/{group_id}", response_model=GroupOut)
async def get_group(group_id: int, session: AsyncSession = SESSION,
                    current: CurrentDevice = Depends(current_device)):
    return await service.get_group(session, group_id, current.resident_id)


@router.post("/v1/groups/{group_id}/invites", status_code=201, response_model=InviteOut)
async def create_invite(group_id: int, body: InviteCreate | None = None, session: AsyncSession = SESSION,
                        current: CurrentDevice = Depends(current_device)):
    return await service.create_invite(session, group_id, current.resident_id, body or InviteCreate())


@router.post("/v1/groups/{group_id}/leave", status_code=204)
async def leave_group(group_id: int, session: AsyncSession = SESSION,
                      current: CurrentDevice = Depends(current_device)):
    await service.leave(session, group_id, current.resident_id)
    return Response(status_code=204)


@router.delete("/v1/groups/{group_id}/members/{member_id}", status_code=204)
async def remove_member(group_id: int, member_id: int, session: AsyncSession = SESSION,
                        current: CurrentDevice = Depends(current_device)):
    await service.remove_member(session, group_id, current.resident_id, member_id)
    return Response(status_code=204)


@router.get("/v1/groups/{group_id}/statuses", response_model=list[StatusOut])
async def group_statuses(group_id: int, since: datetime | None = Query(default=None, description="changes after this time"),
                         session: AsyncSession = SESSION, current: CurrentDevice = Depends(current_device)):
    """The pull side of family safety: every member's current status (location only if they opted in)."""
    return await service.group_statuses(session, group_id, current.resident_id, since)


_STATUSES_QUERY = frozenset({"since"})
_STATUSES_JSON = TypeAdapter(list[StatusOut])
_SINCE = TypeAdapter(datetime)


async def _fast_group_statuses(req: fastpath.FastGet) -> bytes | None:
    """``GET /v1/groups/{id}/statuses`` for a known device that is a member, in two
    statements on the raw pool (the family's safety is what people open the app for after
    a quake). Anything else goes to the route above (``server.fastpath``)."""
    query = req.query(_STATUSES_QUERY)
    token = req.bearer()
    group = req.row_id("group_id")
    if query is None or token is None or group is None:
        return None
    since = None
    if "since" in query:
        try:
            since = _SINCE.validate_python(query["since"])
        except ValidationError:
            return None
    async with raw_connection(req.state.raw_pg) as raw:
        me = await authenticate_raw(raw, token)
        if me is None:
            return None
        out = await service.group_statuses_raw(raw, group, me.resident_id, since)
    return None if out is None else _STATUSES_JSON.dump_json(out, by_alias=True)


def install_middleware(app) -> None:
    fastpath.add(app, "/v1/groups/{group_id}/statuses", _fast_group_statuses)


@router.put("/v1/me/safety", response_model=StatusOut)
async def put_my_status(body: StatusIn, session: AsyncSession = SESSION,
                        current: CurrentDevice = Depends(current_device)):
    """Post your status (safe / need_help / at_shelter / evacuated / unknown). Every other member
    of your groups is notified once; any safety check waiting for you is answered by it."""
    return await flows.post_status(session, current.resident_id, body)


@router.get("/v1/me/safety", response_model=StatusOut | None)
async def get_my_status(session: AsyncSession = SESSION, current: CurrentDevice = Depends(current_device)):
    return await statuses.get_own(session, current.resident_id)
