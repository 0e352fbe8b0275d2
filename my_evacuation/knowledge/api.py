"""Knowledge opt-in: ``/v1/me/knowledge`` (tips, plan-review reminders, quiet hours)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from my_evacuation.knowledge import service
from my_evacuation.residents.deps import current_device
from my_evacuation.residents.service import CurrentDevice
from server.deps import SESSION
from server.errors import AppError

router = APIRouter(tags=["my evacuation"])


class KnowledgePrefs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tips: bool = False
    reminders: bool = True
    quiet_start_hour: int | None = Field(default=None, ge=0, le=23, description="local (JST) hour")
    quiet_end_hour: int | None = Field(default=None, ge=0, le=23)


@router.get("/v1/me/knowledge", response_model=KnowledgePrefs)
async def get_prefs(session: AsyncSession = SESSION, current: CurrentDevice = Depends(current_device)):
    return await service.get_subscription(session, current.resident_id)


@router.put("/v1/me/knowledge", response_model=KnowledgePrefs)
async def put_prefs(body: KnowledgePrefs, session: AsyncSession = SESSION,
                    current: CurrentDevice = Depends(current_device)):
    if (body.quiet_start_hour is None) != (body.quiet_end_hour is None):
        raise AppError("quiet_start_hour and quiet_end_hour go together", code="invalid_quiet_hours")
    return await service.set_subscription(session, current.resident_id, body.model_dump())
