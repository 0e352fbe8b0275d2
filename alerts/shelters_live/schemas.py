"""Staff shelter payloads."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from geo.shelters.models import HAZARDS
from geo.shelters.schemas import Crowding
from server.schemas import IsoTime

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


class StaffShelterOut(BaseModel):
    """A shelter as staff see it (the public shape, plus where it came from). After an opening
    that told residents, ``notified`` and ``held`` say how many (absent otherwise)."""

    id: str
    name: str
    name_kana: str | None
    address: str | None
    municipality_code: str
    lat: float
    lon: float
    elevation_m: float | None
    is_emergency_site: bool = Field(description="指定緊急避難場所: a place to flee to, per hazard")
    is_evacuation_center: bool = Field(description="指定避難所: a place to stay")
    hazards: list[str] = Field(description="hazards GSI designates the site for")
    capacity: int | None
    capacity_text: str | None = Field(description="想定収容人数 as published")
    occupancy: int | None
    checked_in: int = Field(description="people checked in with the shelter's code, included in occupancy")
    is_open: bool
    opened_at: IsoTime | None
    pets_allowed: bool | None
    accessible: bool | None
    phone: str | None
    url: str | None
    districts: str | None
    notes: str | None
    source: str = Field(examples=["gsi", "csv", "staff"])
    updated_at: IsoTime | None
    crowding: Crowding = Field(description="VACAN levels: empty <30 %, somewhat_crowded 30–60 %, crowded 60–80 %, full ≥80 %")
    over_capacity: bool = Field(description="more people than the designated capacity")
    suitable_for: bool | None = Field(description="always null here (no hazard is asked)")
    notified: int | None = Field(None, description="residents told of this opening (only after one)")
    held: int | None = Field(None, description="openings held back by residents' quiet hours (only after one)")


class BulkResult(BaseModel):
    municipality_code: str
    action: Literal["open", "close"]
    changed: int
    unchanged: int = Field(description="already open (or closed)")
    notified: int = Field(description="residents told of the openings, once each")
    held: int = Field(description="of those, held back by quiet hours")


class ShelterOpening(BaseModel):
    """An open shelter that concerns you: named in your plan, or near your places under an alert."""

    shelter_id: str
    name: str
    municipality_code: str
    lat: float
    lon: float
    opened_at: IsoTime | None
    reason: Literal["plan", "nearby"] = Field(description="plan: your plan names it; nearby: near your places under an alert")
    crowding: Crowding | None
    over_capacity: bool
