"""The resident's own-data export (``GET /v1/me/export``).

The safety status, its history and the knowledge preferences are their rows as stored,
every column (``SELECT *``): typed as JSON objects, open-ended on purpose, so the export
keeps carrying a column added later.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from server.schemas import JsonObject, Timestamp


class ExportResident(BaseModel):
    id: int
    language: str
    preferences: JsonObject
    created_at: Timestamp


class ExportPlace(BaseModel):
    id: int
    kind: str = Field(examples=["home", "work", "current"])
    label: str | None
    lat: float
    lon: float
    municipality_code: str | None
    created_at: Timestamp
    updated_at: Timestamp
    expires_at: Timestamp | None


class ExportPlanVersion(BaseModel):
    version: int
    body: JsonObject = Field(description="the plan as saved")
    completeness: int
    created_at: Timestamp


class ExportPlan(BaseModel):
    id: int
    place_id: int | None = Field(description="null: the home plan")
    current_version: int
    created_at: Timestamp
    versions: list[ExportPlanVersion] = Field(description="every version, oldest first")


class ExportGroup(BaseModel):
    id: int
    name: str
    display_name: str = Field(description="your name in the group")
    role: str
    joined_at: Timestamp


class ExportSafetyCheck(BaseModel):
    id: int
    event_key: str
    category: str
    reason: str
    created_at: Timestamp
    answered_at: Timestamp | None
    answer_status: str | None
    reminders_sent: int


class ResidentExport(BaseModel):
    """Everything my_evacuation holds about you."""

    exported_at: Timestamp
    resident: ExportResident
    places: list[ExportPlace]
    plans: list[ExportPlan]
    safety_status: JsonObject | None = Field(
        description="your safety status row as stored; null: none set"
    )
    safety_status_history: list[JsonObject] = Field(
        description="every earlier status, as stored"
    )
    groups: list[ExportGroup]
    safety_checks: list[ExportSafetyCheck]
    knowledge: JsonObject | None = Field(
        description="your knowledge subscription row as stored; null: none"
    )
