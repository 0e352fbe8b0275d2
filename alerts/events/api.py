"""Public read endpoints: one alert (with its GeoJSON geometry and event state), one event."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Path
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.events import repository as repo
from alerts.events.models import AlertEvent
from alerts.events.schemas import AlertBrief, AlertOut, EventOut, EventSummary
from server import fastpath, readcache
from server.deps import SESSION
from server.errors import NotFound

router = APIRouter(tags=["alerts"])

# Postgres bigint: a larger id is a bad request, not a database error.
RowId = Annotated[int, Path(ge=1, le=fastpath.MAX_ROW_ID)]


def _event_summary(e: AlertEvent) -> EventSummary:
    return EventSummary(
        id=e.id, source=e.source, event_id=e.event_id, category=e.category, state=e.state, severity=e.severity,
        max_severity=e.max_severity, latest_alert_id=e.latest_alert_id, first_issued_at=e.first_issued_at,
        last_issued_at=e.last_issued_at,
    )


@router.get("/v1/alerts/{alert_id}", response_model=AlertOut, responses={404: {"description": "No such alert"}})
async def get_alert(alert_id: RowId, session: AsyncSession = SESSION) -> AlertOut:
    out = await _alert_out(session, alert_id)
    if out is None:
        raise NotFound(f"alert {alert_id} not found")
    return out


async def _alert_out(session: AsyncSession, alert_id: int) -> AlertOut | None:
    found = await repo.get_alert(session, alert_id)
    if found is None:
        return None
    a = found["alert"]
    event = await repo.get_event(session, a.event_id)
    return AlertOut(
        id=a.id, source=a.source, source_id=a.source_id, msg_type=a.msg_type, category=a.category,
        severity=a.severity, headline=a.headline, issued_at=a.issued_at, expires_at=a.expires_at,
        is_drill=a.is_drill, area_codes=list(a.area_codes or []),
        geometry=orjson.loads(found["geojson"]) if found["geojson"] else None,
        payload=a.payload, event=_event_summary(event),
    )


# The answer's bytes, per api process, under the ``alerts`` generation read before the rows
# (server.readcache): after a quake's push nearly everyone opens the same alert.
_ALERT_JSON = TypeAdapter(AlertOut)
_DETAIL_BYTES = readcache.ReadCache(repo.NAMESPACE, max_entries=1024)


async def _fast_alert(req: fastpath.FastGet) -> bytes | None:
    """``GET /v1/alerts/{id}`` of an alert that exists, from the cached bytes (a miss reads
    it as the route does and keeps the bytes). A query, an id the route would refuse, or no
    such alert: the route answers (``server.fastpath``)."""
    alert_id = req.row_id("alert_id")
    if req.scope.get("query_string") or alert_id is None:
        return None
    gen = await readcache.generation(repo.NAMESPACE)
    body = _DETAIL_BYTES.get(alert_id, gen)
    if body is None:
        async with req.state.sessionmaker() as session:
            out = await _alert_out(session, alert_id)
        if out is None:
            return None
        body = _ALERT_JSON.dump_json(out, by_alias=True)
        _DETAIL_BYTES.put(alert_id, gen, body)
    return body


def install_middleware(app) -> None:
    fastpath.add(app, "/v1/alerts/{alert_id}", _fast_alert)


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
