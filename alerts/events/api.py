"""Public read endpoints: one alert (with its GeoJSON geometry and event state), one event."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Path
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.events import repository as repo
from alerts.events.models import AlertEvent
from alerts.events.schemas import AlertBrief, AlertOut, EventOut, EventSummary
from server.deps import SESSION
from server.errors import NotFound

router = APIRouter(tags=["alerts"])

# Postgres bigint: a larger id is a bad request, not a database error.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _event_summary(e: AlertEvent) -> EventSummary:
    return EventSummary(
        id=e.id, source=e.source, event_id=e.event_id, category=e.category, state=e.state, severity=e.severity,
        max_severity=e.max_severity, latest_alert_id=e.latest_alert_id, first_issued_at=e.first_issued_at,
        last_issued_at=e.last_issued_at,
    )


@router.get("/v1/alerts/{alert_id}", response_model=AlertOut, responses={404: {"description": "No such alert"}})
async def get_alert(alert_id: RowId, session: AsyncSession = SESSION) -> AlertOut:
    found = await repo.get_alert(session, alert_id)
    if found is None:
        raise NotFound(f"alert {alert_id} not found")
    a = found["alert"]
    event = await repo.get_event(session, a.event_id)
    return AlertOut(
        id=a.id, source=a.source, source_id=a.source_id, msg_type=a.msg_type, category=a.category,
        severity=a.severity, headline=a.headline, issued_at=a.issued_at, expires_at=a.expires_at,
        is_drill=a.is_drill, area_codes=list(a.area_codes or []),
        geometry=orjson.loads(found["geojson"]) if found["geojson"] else None,
        payload=a.payload, event=_event_summary(event),
    )


@router.get("/v1/events/{event_id}", response_model=EventOut, responses={404: {"description": "No such event"}})
async def get_event(event_id: RowId, session: AsyncSession = SESSION) -> EventOut:
    event = await repo.get_event(session, event_id)
    if event is None:
        raise NotFound(f"event {event_id} not found")
    alerts = await repo.list_event_alerts(session, event_id)
    return EventOut(
        **_event_summary(event).model_dump(),
        alerts=[
            AlertBrief(id=a.id, msg_type=a.msg_type, category=a.category, severity=a.severity, headline=a.headline,
                       issued_at=a.issued_at, is_drill=a.is_drill)
            for a in alerts
        ],
    )
