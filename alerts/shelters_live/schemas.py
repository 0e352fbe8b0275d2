"""Staff shelter payloads."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from geo.shelters.models import HAZARDS

Hazard = Literal[HAZARDS]  # type: ignore[valid-type]


class ShelterChange(BaseModel):
    is_open: bool | None = None
    capacity: int | None = Field(default=None, ge=0, le=1_000_000)
    occupancy: int | None = Field(default=None, ge=0, le=1_000_000)
    hazards: list[Hazard] | None = Field(default=None, max_length=len(HAZARDS))
    pets_allowed: bool | None = None
    accessible: bool | None = None


class BulkChange(BaseModel):
    municipality_code: str = Field(pattern=r"^[0-9]{6}$")
    action: Literal["open", "close"]
    # None: every shelter of the municipality.
    shelter_ids: list[str] | None = Field(default=None, max_length=2000)
