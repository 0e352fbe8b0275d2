"""Safety checks: ``/v1/me/safety-checks`` and the one-tap answer."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from my_evacuation.family.schemas import StatusIn
from my_evacuation.safety import service
from my_evacuation.safety.schemas import AnswerOut, SafetyCheckOut
from my_evacuation.residents.deps import current_device
from my_evacuation.residents.service import CurrentDevice
from server.deps import SESSION

router = APIRouter(tags=["family"])


@router.post("/v1/safety-checks/{check_id}/answer", response_model=AnswerOut)
async def answer(check_id: int, body: StatusIn | None = None, session: AsyncSession = SESSION,
                 current: CurrentDevice = Depends(current_device)):
    """One tap: no body means "safe". Your family is told once. Answering again with something
    else (need help, a message) updates your answer and your family hears the change
    (``updated: true``); the same answer again changes nothing (``updated: false``)."""
    status, new, changed = await service.answer_check(session, current.resident_id, check_id, body or StatusIn())
    return {"answered": new, "updated": changed, "status": status}


@router.get("/v1/me/safety-checks", response_model=list[SafetyCheckOut])
async def my_checks(session: AsyncSession = SESSION, current: CurrentDevice = Depends(current_device)):
    return await service.list_checks(session, current.resident_id)
