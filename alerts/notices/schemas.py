"""Evacuation-information payloads."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from server.schemas import IsoTime, JsonObject


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


class LocalizedName(BaseModel):
    ja: str | None = None
    en: str | None = None


class TemplateOut(BaseModel):
    """A wording template for evacuation information (``templates.json``)."""

    key: str = Field(examples=["heavy_rain"])
    name: LocalizedName
    reason: dict[str, str] | None = Field(description="the template's default reason per language; null: none",
                                          examples=[{"ja": "大雨により…", "en": "Heavy rain has raised…"}])


class NoticeMessage(BaseModel):
    headline: str
    body: str


class NoticeOut(BaseModel):
    """One message of an evacuation-information chain (original, correction or cancellation)."""

    id: int
    root_id: int | None = Field(description="the chain's original (its own id for an original)")
    references_id: int | None = Field(description="the notice this one corrects or cancels")
    msg_type: Literal["alert", "update", "cancel"]
    state: Literal["draft", "pending_approval", "issued", "updated", "cancelled", "discarded"]
    level: Literal[0, 3, 4, 5] = Field(description="0 解除 (lifted), 3 高齢者等避難, 4 避難指示, 5 緊急安全確保")
    is_drill: bool
    template: str
    target_kind: Literal["municipality", "districts", "polygon"]
    municipality_codes: list[str]
    district_ids: list[int]
    geometry: JsonObject | None = Field(description="GeoJSON MultiPolygon of the target; null for whole municipalities")
    reason: str | None
    shelter_ids: list[str]
    needs_approval: bool = Field(description="a live level 4/5 needs a second person's approval")
    messages: dict[str, NoticeMessage] | None = Field(
        description="rendered per language when issued: {language: {headline, body}}; null before")
    created_by: int
    created_at: IsoTime | None
    submitted_by: int | None
    approved_by: int | None
    approved_at: IsoTime | None
    rejection_note: str | None
    issued_by: int | None
    issued_at: IsoTime | None
    alert_id: int | None = Field(description="the stored alert it went out as")
    cap_identifier: str | None = Field(description="the CAP identifier it was published under")


class PreviewMessage(BaseModel):
    action: Literal["new", "raise", "lower", "clear", "cancel", "hold"]
    language: str = Field(examples=["ja"])
    title: str
    body: str


class NoticePreview(BaseModel):
    """Who the notice would tell what if issued now. Nothing is sent or kept."""

    residents: int = Field(description="residents it would reach")
    actions: dict[str, int] = Field(description="residents per outcome (new, raise, lower, clear, cancel, hold)",
                                    examples=[{"new": 120, "hold": 4}])
    life_critical: bool
    level: int = Field(description="highest level on the common danger scale")
    messages: list[PreviewMessage] = Field(description="one message per outcome and language")


class DistrictOut(BaseModel):
    id: int
    municipality_code: str
    name: str


class DistrictWithGeometry(DistrictOut):
    geometry: JsonObject = Field(description="GeoJSON MultiPolygon")
