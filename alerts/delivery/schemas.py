"""API shapes of the delivery domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class DeliveryState(BaseModel):
    status: str  # told | held | lowered | cleared | cancelled
    rank: int
    max_rank: int
    held_by_quiet_hours: bool
    critical: bool
    current_location: bool
    place_ids: list[int]
    told_at: datetime | None
    cleared_at: datetime | None
    updated_at: datetime


class MyAlert(BaseModel):
    alert_id: int  # the latest alert of the event this resident was matched by
    event_id: int
    event_state: str  # active | updated | cancelled | cleared
    category: str
    msg_type: str
    headline: str | None
    severity: str | None
    issued_at: datetime
    expires_at: datetime | None
    is_drill: bool
    delivery: DeliveryState


class MyAlerts(BaseModel):
    alerts: list[MyAlert]
    cursor: str  # pass as ?since= next time
    more: bool  # another page is waiting: call again with the cursor


class PreferencesOut(BaseModel):
    preferences: dict[str, Any]
    life_critical_always: list[str]
