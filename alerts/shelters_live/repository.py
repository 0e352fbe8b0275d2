"""Who a shelter opening concerns, composed from the owners' reads. Never commits.

shelters_live owns no table: the plans naming a shelter come from my_evacuation.plans, the
residents told of an event in force from alerts.delivery, their places near a shelter from
my_evacuation.places, the shelters' points from geo.shelters; the one statement here reads
the residents' language and preferences through the ``resident_settings`` view
(my_evacuation.residents) and orders the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.delivery import repository as deliveries_repo
from geo.shelters import repository as shelters_repo
from my_evacuation.places import repository as places_repo
from my_evacuation.plans import repository as plans_repo

_WITH_SETTINGS = text(
    """
    SELECT r.id, r.language, r.preferences, w.shelter_id, w.reason
    FROM unnest(CAST(:residents AS bigint[]), CAST(:shelters AS text[]), CAST(:reasons AS text[]))
         AS w(resident_id, shelter_id, reason)
    JOIN resident_settings r ON r.id = w.resident_id
    ORDER BY r.id, w.reason DESC, w.shelter_id
    """
)


async def opening_recipients(
    session: AsyncSession, shelter_ids: Sequence[str], radius_m: float, resident_id: int | None = None
) -> list[Any]:
    """Residents to tell when these shelters open (only this one, unless ``resident_id`` is None):
    whose current plan names one of them (reason ``plan``), and whose places are within
    ``radius_m`` of one while an alert (not a drill) they were told of is still in force
    (``nearby``, unless their plan names that shelter). One row (id, language, preferences,
    shelter_id, reason) per (resident, shelter); a resident's rows come together, plan first."""
    shelter_ids = list(shelter_ids)
    if not shelter_ids:
        return []
    planned = [(r.resident_id, r.shelter_id) for r in await plans_repo.residents_planning(session, shelter_ids, resident_id)]
    nearby: list[tuple[int, str]] = []
    told = await deliveries_repo.residents_told_in_force(session, resident_id)
    if told:
        points = await shelters_repo.locations(session, shelter_ids)
        nearby = [(r.resident_id, r.shelter_id) for r in await places_repo.residents_near(session, told, points, radius_m)]
    seen = set(planned)
    why = [(rid, sid, "plan") for rid, sid in planned] + [(rid, sid, "nearby") for rid, sid in nearby if (rid, sid) not in seen]
    if not why:
        return []
    rows = await session.execute(
        _WITH_SETTINGS,
        {"residents": [w[0] for w in why], "shelters": [w[1] for w in why], "reasons": [w[2] for w in why]},
    )
    return list(rows.all())
