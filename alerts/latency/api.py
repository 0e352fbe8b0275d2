"""``GET /v1/alerts/{id}/latency``: how fast one alert reached phones, public, no personal data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.latency.schemas import AlertLatency
from alerts.latency.service import alert_latency
from server.deps import SESSION
from server.errors import NotFound

router = APIRouter(tags=["alerts"])

RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get(
    "/v1/alerts/{alert_id}/latency", response_model=AlertLatency, responses={404: {"description": "No such alert"}}
)
async def get_alert_latency(alert_id: RowId, session: AsyncSession = SESSION) -> AlertLatency:
    """Receipt → stored and relayed → first push → 50 % / 95 % → last push accepted, in
    seconds from the moment the service received the document and from its report time;
    push counts by outcome; the lane it went in. Counts and times only."""
    found = await alert_latency(session, alert_id)
    if found is None:
        raise NotFound(f"alert {alert_id} not found")
    return found
