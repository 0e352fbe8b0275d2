"""My Evacuation across its domains: a resident's posted safety status reaches the family
(each other member of their groups notified once) and answers any safety check waiting for
them. Never commits: the status, the notifications and the answers land together."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from my_evacuation.family import statuses
from my_evacuation.family.schemas import StatusIn, StatusOut
from my_evacuation.safety.service import answer_open_checks


async def post_status(session: AsyncSession, resident_id: int, body: StatusIn) -> StatusOut:
    out = await statuses.set_status(session, resident_id, body)
    await answer_open_checks(session, resident_id, body.status)
    return out
