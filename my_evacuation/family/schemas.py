from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SafetyStatusValue = Literal["safe", "need_help", "at_shelter", "evacuated", "unknown"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)


class GroupCreate(_Strict):
    name: str = Field(min_length=1, max_length=60)
    display_name: str = Field(min_length=1, max_length=40, description="how the other members see you")


class InviteCreate(_Strict):
    max_uses: int = Field(default=1, ge=1, le=50, description="1 = single-use")
    ttl_hours: int | None = Field(default=None, ge=1, description="default 72 h")


class InviteOut(BaseModel):
    code: str
    group_id: int
    expires_at: datetime
    max_uses: int


class JoinIn(_Strict):
    code: str = Field(min_length=4, max_length=32)
    display_name: str = Field(min_length=1, max_length=40)


class Location(_Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class StatusIn(_Strict):
    status: SafetyStatusValue = "safe"
    message: str | None = Field(default=None, max_length=100, description="up to 100 characters (web171)")
    shelter_id: str | None = Field(default=None, max_length=100)
    shelter_name: str | None = Field(default=None, max_length=100)
    share_location: bool = False
    location: Location | None = None


class StatusOut(BaseModel):
    resident_id: int
    display_name: str | None = None
    status: SafetyStatusValue
    message: str | None
    shelter_id: str | None
    shelter_name: str | None
    location: Location | None
    updated_at: datetime | None
    version: int


class MemberOut(BaseModel):
    resident_id: int
    display_name: str
    role: str
    joined_at: datetime
    status: StatusOut | None


class GroupOut(BaseModel):
    id: int
    name: str
    owner_id: int | None
    max_members: int
    created_at: datetime
    members: list[MemberOut] = []
