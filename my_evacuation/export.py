"""A resident's own data as JSON (GET /v1/me/export): plans with every version, places,
safety statuses and their history, groups, safety checks, knowledge preferences."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from my_evacuation.family import repository as family_repo
from my_evacuation.knowledge import repository as knowledge_repo
from my_evacuation.places import repository as places_repo
from my_evacuation.plans import repository as plans_repo
from my_evacuation.residents import repository as residents_repo
from my_evacuation.safety import repository as safety_repo


async def resident_export(session: AsyncSession, resident_id: int) -> dict[str, Any]:
    r = resident_id
    # Each owner's own rows, in the order the export has always read them.
    resident = await residents_repo.export_row(session, r)
    places = await places_repo.export_rows(session, r)
    plans = await plans_repo.export_rows(session, r)
    status, history, groups = await family_repo.export_rows(session, r)
    checks = await safety_repo.export_rows(session, r)
    knowledge = await knowledge_repo.export_rows(session, r)
    return {
        "exported_at": datetime.now(UTC),
        "resident": resident,
        "places": places,
        "plans": plans,
        "safety_status": status[0] if status else None,
        "safety_status_history": history,
        "groups": groups,
        "safety_checks": checks,
        "knowledge": knowledge[0] if knowledge else None,
    }
