"""What happened: delivery figures per alert, safety answers per area. Aggregates only.

Every table read here has another owner: the figures are composed from each owner's own
aggregates (alerts.events, alerts.delivery, my_evacuation.push / places / safety)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from alerts.delivery import repository as deliveries_reads
from alerts.events import reads_repository as events_reads
from alerts.facts import GroupFacts
from my_evacuation.places import repository as places_repo
from my_evacuation.push import repository as push_repo
from my_evacuation.safety import repository as safety_repo

async def _in_scope(session: AsyncSession, scope: str | None) -> list[int] | None:
    """Residents counted for an operator: those with a place (or a current location) in the
    scope. None scope = the whole prefecture (everyone): None."""
    return None if scope is None else await places_repo.residents_with_place_in(session, scope)


async def alert_figures(session: AsyncSession, alert_id: int, scope: str | None) -> dict:
    alert = await events_reads.alert_row(session, alert_id)
    if alert is None:
        return {}
    residents = await _in_scope(session, scope)
    out = dict(alert)
    pushed = await push_repo.alert_push_summary(session, alert_id, residents)
    out["residents_pushed"] = pushed["residents_pushed"]
    out["residents_held"] = await deliveries_reads.count_held(session, alert["event_id"], alert_id, residents)
    out["first_push_at"], out["last_push_at"] = pushed["first_push_at"], pushed["last_push_at"]
    out["pushes"] = await push_repo.alert_pushes_by_provider(session, alert_id, residents)
    return out


async def recent_alert_ids(session: AsyncSession, scope: str | None, limit: int) -> list[int]:
    """Every alert (whole prefecture), else those naming the municipality or of an event
    delivered to a resident with a place there."""
    residents = await _in_scope(session, scope)
    events = await deliveries_reads.event_ids_of_residents(session, residents) if residents else []
    return await events_reads.recent_alert_ids(session, scope, events, limit)


async def safety_by_area(session: AsyncSession, scope: str | None, event_key: str | None, cell_deg: float) -> dict:
    """Safety answers (my_evacuation.safety) counted by each resident's area (my_evacuation.places):
    one area per resident, home first, then any registered place, then a current location."""
    resident_ids, statuses = await safety_repo.answers(session, event_key)
    by_muni, need_help = await places_repo.tally_by_area(session, resident_ids, statuses, scope, cell_deg, "need_help")
    return {"by_municipality": by_muni, "need_help_cells": need_help}


async def active_alerts(session: AsyncSession, limit: int) -> list[dict]:
    """Alerts whose event is still in force (not cancelled / cleared, ``in_force_until`` ahead:
    an alert without an expiry drops off a day after its last issue), newest first, with a
    simplified geometry for the console map."""
    out = []
    for item in await events_reads.active_alert_rows(session, limit):
        raw = item.pop("facts", None)
        # The danger now (alerts.facts), not the latest document alone: per area on the
        # common danger scale, so the map colours what is in force where.
        facts = GroupFacts.from_json(raw) if raw else None
        if facts is not None:
            if not facts.in_force:
                continue  # a bulletin, or a danger lifted everywhere: nothing in force to draw
            in_force = {c: a for c, a in facts.areas.items() if a.in_force}
            if in_force or facts.areas:
                item["area_codes"] = sorted(in_force)
            item["area_levels"] = {c: a.level for c, a in in_force.items()}
            item["level"] = facts.max.level
            item["life_critical"] = any(a.life_critical for a in in_force.values()) or facts.default.life_critical
        else:
            item["area_levels"], item["level"], item["life_critical"] = {}, 0, False
        out.append(item)
    return out
