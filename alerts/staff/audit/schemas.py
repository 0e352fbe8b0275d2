"""Audit log shapes."""

from __future__ import annotations

from pydantic import BaseModel, Field

from server.schemas import IsoTime, JsonObject


class AuditActor(BaseModel):
    id: int | None
    username: str
    role: str | None


class AuditTarget(BaseModel):
    type: str = Field(examples=["notice", "shelter", "account"])
    id: str


class AuditEntryOut(BaseModel):
    """One audited action: who did what to what, with the state before and after."""

    id: int
    at: IsoTime | None
    actor: AuditActor
    action: str = Field(examples=["notice.issue", "shelter.open"])
    target: AuditTarget
    municipality_code: str | None
    before: JsonObject | None = Field(
        description="the target's audited fields before; null when it did not exist"
    )
    after: JsonObject | None = Field(
        description="the target's audited fields after; null when it was removed"
    )
