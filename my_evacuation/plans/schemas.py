"""The sheet's shape (Pydantic). Stored as JSON exactly as validated; see service for
the cross-field checks (references between members and destinations, shelters in the
registry) that need more than one field or the database."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Fukushima's printed sheet has 6 rows; larger households and extended families need more.
MAX_MEMBERS = 20
MAX_DESTINATIONS = 10

AgeBand = Literal["0-5", "6-12", "13-17", "18-39", "40-64", "65-74", "75+", "unknown"]
HazardAnswer = Literal["yes", "no", "unknown"]
DestinationKind = Literal["shelter", "relatives", "hotel", "upper_floor", "other"]
Means = Literal["walk", "car", "wheelchair", "bus", "train", "other"]
# Hazards a destination is chosen for, in the registry's vocabulary (GSI designations).
PlanHazard = Literal["flood", "landslide", "storm_surge", "earthquake", "tsunami", "large_fire", "inland_flood", "volcano", "nuclear"]
Key = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
ShortText = Field(max_length=200)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)


class Member(_Strict):
    id: str = Key
    label: str = Field(min_length=1, max_length=40, description="name or label, e.g. 祖母")
    age_band: AgeBand = "unknown"
    needs_help_to_move: bool = False
    care_needs: str | None = Field(default=None, max_length=200)
    medical_needs: str | None = Field(default=None, max_length=200)
    pets: list[str] = Field(default_factory=list, max_length=10)
    # 警戒レベル at which this member leaves: 3 for those who need time (高齢者等避難), else 4.
    leave_at_level: Literal[3, 4, 5] | None = None
    # Destination ids in order of preference; the first suitable for the hazard is used.
    destination_ids: list[str] = Field(default_factory=list, max_length=MAX_DESTINATIONS)


class HazardsAtHome(_Strict):
    flood: HazardAnswer = "unknown"  # 洪水浸水想定区域
    landslide: HazardAnswer = "unknown"  # 土砂災害(特別)警戒区域
    tsunami: HazardAnswer = "unknown"  # 津波浸水想定区域
    nuclear: HazardAnswer = "unknown"  # 原子力災害対策重点区域 (PAZ/UPZ)


class LevelActions(_Strict):
    check: list[str] = Field(default_factory=list, max_length=10)
    do: list[str] = Field(default_factory=list, max_length=10)


class ActionsByLevel(_Strict):
    level_1_2: LevelActions = Field(default_factory=LevelActions)  # gather information
    level_3: LevelActions = Field(default_factory=LevelActions)  # those needing help leave
    level_4: LevelActions = Field(default_factory=LevelActions)  # everyone leaves
    level_5: LevelActions = Field(default_factory=LevelActions)  # secure your life now


class Destination(_Strict):
    id: str = Key
    kind: DestinationKind
    shelter_id: str | None = Field(default=None, max_length=100, description="registry id when kind is shelter")
    name: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=200)
    # Hazards this destination is meant for; empty means any.
    hazards: list[PlanHazard] = Field(default_factory=list, max_length=9)
    route_notes: str | None = Field(default=None, max_length=500)
    means: Means | None = None
    minutes: int | None = Field(default=None, ge=1, le=1440)


class Contact(_Strict):
    name: str = Field(min_length=1, max_length=60)
    relation: str | None = Field(default=None, max_length=40)
    phone: str | None = Field(default=None, max_length=30, pattern=r"^[0-9+()\- ]*$")
    notes: str | None = Field(default=None, max_length=200)


class NuclearSection(_Strict):
    action: Literal["evacuate", "shelter_indoors"] | None = None
    destination_id: str | None = Field(default=None, max_length=32)
    instructions: str | None = Field(default=None, max_length=500)


class PlanBody(_Strict):
    members: list[Member] = Field(default_factory=list, max_length=MAX_MEMBERS)
    hazards: HazardsAtHome = Field(default_factory=HazardsAtHome)
    actions: ActionsByLevel = Field(default_factory=ActionsByLevel)
    destinations: list[Destination] = Field(default_factory=list, max_length=MAX_DESTINATIONS)
    items: list[str] = Field(default_factory=list, max_length=50)
    contacts: list[Contact] = Field(default_factory=list, max_length=20)
    nuclear: NuclearSection = Field(default_factory=NuclearSection)
    notes: str | None = Field(default=None, max_length=1000)


class Missing(BaseModel):
    section: str
    code: str
    message: str
    ref: str | None = None


class PlanWarning(BaseModel):
    code: str
    message: str
    destination_id: str | None = None
    shelter_id: str | None = None
    shelter_name: str | None = None
    hazard: str | None = None
    designated_for: list[str] | None = None


class PlanOut(BaseModel):
    plan_id: int
    place_id: int | None
    version: int
    saved_at: datetime
    body: dict
    completeness: int = Field(description="0–100")
    missing: list[Missing]
    warnings: list[PlanWarning]


class VersionSummary(BaseModel):
    version: int
    saved_at: datetime
    completeness: int


class Suggestion(BaseModel):
    hazard: str
    suggested: HazardAnswer
    current: HazardAnswer | None
    basis: str


class SuggestionsOut(BaseModel):
    place_id: int | None
    suggestions: list[Suggestion]
    nearby_shelters: list[dict]
