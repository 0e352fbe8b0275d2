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


class NowState(BaseModel):
    """What the alert means for the resident's places now (all zero when none is inside it)."""

    rank: int = 0  # the danger at their places (0: none in force there)
    level: int = 0  # the same on the common danger scale 0–5 (alerts.facts)
    place_ids: list[int] = []  # their places inside the alert's area
    current_location: bool = False  # a device's current location is inside it
    life_critical: bool = False
    muted: bool = False  # in force there, but their preferences keep it from being pushed


class MyAlert(BaseModel):
    alert_id: int  # the latest alert of the event
    event_id: int
    event_state: str  # active | updated | cancelled | cleared | expired
    in_force: bool
    category: str
    msg_type: str
    title: str  # the danger's name (and area) in the resident's language, from the alert facts
    headline: str | None  # the source's own words, in headline_language
    headline_language: str | None
    severity: str | None
    issued_at: datetime
    expires_at: datetime | None
    is_drill: bool
    now: NowState
    delivery: DeliveryState | None  # what they were told (None: never pushed to them)


class MyAlerts(BaseModel):
    alerts: list[MyAlert]
    cursor: str  # pass as ?since= next time
    complete: bool  # the whole list: replace yours with it (else: only what changed, merge by event_id)


class PreferencesOut(BaseModel):
    preferences: dict[str, Any]
    life_critical_always: list[str]
