"""Area shapes: the area list, and the codes a point resolves to."""

from __future__ import annotations

from pydantic import BaseModel, Field

from server.schemas import JsonObject


class AreaOut(BaseModel):
    """One area of a kind (municipality, JMA forecast areas, quake and tsunami areas)."""

    code: str = Field(examples=["072010"])
    name: str = Field(examples=["福島市"])
    kana: str | None
    parent_code: str | None
    geometry: JsonObject | None = Field(
        None,
        description="simplified GeoJSON, only with `geometry=true` (null when the area has none)",
    )


class CodeName(BaseModel):
    code: str
    name: str | None = None


class ResolvedArea(BaseModel):
    """Every code a feed may target this place by; null when the point is outside the prefecture."""

    municipality: CodeName | None = None
    jma_city: CodeName | None = None
    jma_matome: CodeName | None = None
    jma_first: CodeName | None = None
    jma_pref: CodeName | None = None
    quake_area: CodeName | None = None
    tsunami_area: CodeName | None = None
    snapped_m: float | None = Field(default=None, description="Distance snapped when the point lay just outside every area")
