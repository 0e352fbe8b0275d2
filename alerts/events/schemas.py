"""Public read models of alerts and events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class EventSummary(BaseModel):
    id: int
    source: str
    event_id: str
    category: str
    state: str
    severity: str | None
    max_severity: str | None
    latest_alert_id: int | None
    first_issued_at: datetime
    last_issued_at: datetime


class AlertOut(BaseModel):
    id: int
    source: str
    source_id: str
    msg_type: str
    category: str
    severity: str | None
    headline: str | None
    issued_at: datetime
    expires_at: datetime | None
    is_drill: bool
    area_codes: list[str]
    geometry: dict[str, Any] | None
    payload: dict[str, Any]
    event: EventSummary


class AlertBrief(BaseModel):
    id: int
    msg_type: str
    category: str
    severity: str | None
    headline: str | None
    issued_at: datetime
    is_drill: bool


class EventOut(EventSummary):
    alerts: list[AlertBrief]
