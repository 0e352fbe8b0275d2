"""Shelter API shapes."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, WithJsonSchema

from geo.shelters.models import HAZARDS

Hazard = Enum("Hazard", {h: h for h in HAZARDS}, type=str)
Crowding = Literal["empty", "somewhat_crowded", "crowded", "full", "unknown"]


class ShelterOut(BaseModel):
    id: str
    name: str
    name_kana: str | None = None
    address: str | None = None
    municipality_code: str
    lat: float
    lon: float
    elevation_m: float | None = None
    is_emergency_site: bool = Field(description="指定緊急避難場所: a place to flee to, per hazard")
    is_evacuation_center: bool = Field(description="指定避難所: a place to stay")
    hazards: list[str] = Field(description="hazards GSI designates the site for")
    capacity: int | None = None
    capacity_text: str | None = Field(None, description="想定収容人数 as published")
    occupancy: int | None = None
    checked_in: int = Field(0, description="people checked in with the shelter's code (app or staff), included in occupancy")
    crowding: Crowding = Field(description="VACAN levels: empty <30 %, somewhat_crowded 30–60 %, crowded 60–80 %, full ≥80 %")
    is_open: bool
    opened_at: datetime | None = None
    pets_allowed: bool | None = None
    accessible: bool | None = None
    phone: str | None = None
    url: str | None = None
    notes: str | None = None
    updated_at: datetime | None = None


class NearbyShelterOut(ShelterOut):
    distance_m: float
    suitable_for: bool | None = Field(description="designated for the requested hazard; null when none was asked")


class NearbyShelters(BaseModel):
    hazard: str | None
    shelters: list[NearbyShelterOut]


# One shelter of the offline pack, in the order ``fields`` names:
# [id, name, municipality_code, lat, lon, hazards (bits), flags (bits), capacity, address].
# (Documented as an array of 9 scalars: positional item schemas, ``prefixItems``, are read
# by too few OpenAPI tools.)
PackRow = Annotated[
    tuple[str, str, str, float, float, int, int, int | None, str | None],
    WithJsonSchema({
        "type": "array",
        "minItems": 9,
        "maxItems": 9,
        "items": {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}]},
        "description": "id, name, municipality_code, lat, lon, hazards (bits), flags (bits), capacity, address",
        "examples": [["gsi:E0720100999111", "渡利小学校", "072010", 37.74, 140.49, 5, 3, 300, None]],
    }),
]


class OfflinePack(BaseModel):
    """Every shelter (of one municipality, or the prefecture) for offline search, as compact rows."""

    format: int = Field(description="the pack's format; a client that does not know it refetches the app", examples=[1])
    version: str = Field(description="hash of the content; also the ETag")
    municipality_code: str | None = Field(description="null: the whole prefecture")
    hazards: list[str] = Field(description="bit i of a row's hazards is hazards[i]")
    flags: dict[str, int] = Field(
        description="bit of each flag in a row's flags",
        examples=[{"emergency_site": 1, "evacuation_center": 2, "pets_allowed": 4, "accessible": 8}],
    )
    fields: list[str] = Field(description="what each position of a row holds")
    count: int
    shelters: list[PackRow]
