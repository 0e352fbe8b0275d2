from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from geo.areas.schemas import ResolvedArea

PlaceKind = Literal["home", "work", "school", "family", "other"]


class Coordinates(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90, description="WGS84 latitude")
    lon: float = Field(ge=-180, le=180, description="WGS84 longitude")


class PlaceIn(Coordinates):
    kind: PlaceKind
    label: str | None = Field(default=None, max_length=60)


class PlacePatch(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    kind: PlaceKind | None = None
    label: str | None = Field(default=None, max_length=60)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class LocationIn(Coordinates):
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000, description="Horizontal accuracy, metres")


class PlaceOut(BaseModel):
    id: int
    kind: str
    label: str | None
    lat: float
    lon: float
    accuracy_m: float | None = None
    area: ResolvedArea
    expires_at: str | None = None


class LocationOut(BaseModel):
    id: int
    lat: float
    lon: float
    accuracy_m: float | None
    area: ResolvedArea
    expires_at: str
