"""Area list shapes."""

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
