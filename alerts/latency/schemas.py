from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Stages(BaseModel):
    """Seconds from the origin (receipt, or the document's own report time) to each stage."""

    relayed: float | None = Field(None, description="stored and on the fan-out stream")
    first_push: float | None = None
    p50_push: float | None = None
    p95_push: float | None = None
    last_push: float | None = Field(None, description="last push accepted by a provider so far")
    fanned_out: float | None = Field(None, description="the fan-out finished (every push queued)")


class PushCounts(BaseModel):
    total: int = 0
    accepted: int = 0
    queued: int = 0
    failed: int = 0
    superseded: int = Field(0, description="a newer product of the event reached the device first")


class AlertLatency(BaseModel):
    alert_id: int
    event_id: int
    category: str
    lane: str = Field(description="critical | alert | bulk (server.lanes)")
    issued_at: datetime = Field(description="the document's own report time (JMA rounds it to the minute)")
    received_at: datetime = Field(description="when the service received and stored the document")
    relayed_at: datetime | None = None
    first_push_at: datetime | None = None
    last_push_at: datetime | None = None
    complete: bool = Field(description="the fan-out finished and no push is still queued")
    pushes: PushCounts
    from_receipt_s: Stages
    from_report_time_s: Stages
