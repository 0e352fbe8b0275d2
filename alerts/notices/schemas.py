"""Evacuation-information payloads."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field


class NoticeIn(BaseModel):
    level: Literal[0, 3, 4, 5]
    is_drill: bool = False
    template: str = Field(default="standard", max_length=32)
    target_kind: Literal["municipality", "districts", "polygon"]
    municipality_codes: list[str] = Field(default_factory=list, max_length=59)
    district_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(default_factory=list, max_length=50)
    polygon: dict[str, Any] | None = None
    # Free text, shown as written (not translated); None → the template's reason.
    reason: str | None = Field(default=None, max_length=500)
    shelter_ids: list[str] = Field(default_factory=list, max_length=100)


class NoticeChanges(BaseModel):
    """A correction: only what changes (everything else is the original's)."""

    level: Literal[0, 3, 4, 5] | None = None
    target_kind: Literal["municipality", "districts", "polygon"] | None = None
    municipality_codes: list[str] | None = Field(default=None, max_length=59)
    district_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] | None = Field(default=None, max_length=50)
    polygon: dict[str, Any] | None = None
    reason: str | None = Field(default=None, max_length=500)
    shelter_ids: list[str] | None = Field(default=None, max_length=100)


class RejectIn(BaseModel):
    note: str = Field(min_length=1, max_length=500)


class DistrictIn(BaseModel):
    municipality_code: str = Field(pattern=r"^[0-9]{6}$")
    name: str = Field(min_length=1, max_length=100)
    polygon: dict[str, Any]
