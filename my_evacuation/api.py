"""Exports: a group's statuses as PFIF 1.4 XML, a resident's own data as JSON."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from sqlalchemy.ext.asyncio import AsyncSession

from my_evacuation.export import resident_export
from my_evacuation.family.service import require_member
from my_evacuation.pfif import group_pfif
from my_evacuation.schemas import ResidentExport
from my_evacuation.residents.deps import current_device
from my_evacuation.residents.service import CurrentDevice
from server.deps import SESSION
from server.schemas import XmlResponse, text_body

router = APIRouter(tags=["family"])


@router.get("/v1/groups/{group_id}/pfif.xml", response_class=XmlResponse,
            responses=text_body("application/xml", "PFIF 1.4 document"))
async def group_pfif_xml(group_id: int, session: AsyncSession = SESSION,
                         current: CurrentDevice = Depends(current_device)):
    """Members and their status notes as PFIF 1.4, for cross-search services. Members only."""
    await require_member(session, group_id, current.resident_id)
    return Response(await group_pfif(session, group_id), media_type="application/xml")


@router.get("/v1/me/export", tags=["my evacuation"], response_model=ResidentExport)
async def export_me(session: AsyncSession = SESSION, current: CurrentDevice = Depends(current_device)):
    """Everything my_evacuation holds about you (plans with history, places, statuses, groups, checks)."""
    return await resident_export(session, current.resident_id)
