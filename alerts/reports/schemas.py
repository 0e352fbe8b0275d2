"""Staff report shapes: delivery figures per alert and per notice, alerts in force, safety answers."""

from __future__ import annotations

from pydantic import BaseModel, Field

from server.schemas import IsoTime, JsonObject


class PushTotals(BaseModel):
    sent: int
    failed: int = Field(description="dead tokens, permanent failures, no token")
    queued: int
    total: int


class AlertReport(BaseModel):
    """What happened to one alert, counted within the operator's scope."""

    alert_id: int
    source: str = Field(examples=["jma"])
    msg_type: str = Field(examples=["alert", "update", "cancel"])
    category: str
    headline: str | None
    is_drill: bool
    issued_at: IsoTime
    targeted: int = Field(
        description="residents pushed or held back by their quiet hours"
    )
    held_by_quiet_hours: int
    pushes: PushTotals
    by_provider: dict[str, dict[str, int]] = Field(
        description="pushes per provider and status",
        examples=[{"fcm": {"ok": 120, "dead_token": 2}}],
    )
    first_push_at: IsoTime | None
    last_push_at: IsoTime | None
    seconds_to_first_push: float | None = Field(
        description="from issue to the first push sent"
    )
    seconds_to_last_push: float | None


class NoticeReportMessage(AlertReport):
    """One issued message of a notice's chain (original, correction, cancellation)."""

    notice_id: int
    level: int


class NoticeReport(BaseModel):
    notice_id: int
    root_id: int | None
    messages: list[NoticeReportMessage] = Field(
        description="the chain's issued messages, oldest first"
    )


class ActiveAlert(BaseModel):
    """An alert in force (public information), for the console map."""

    alert_id: int
    source: str
    category: str
    headline: str | None
    severity: str | None
    is_drill: bool
    issued_at: IsoTime
    area_codes: list[str] = Field(description="the areas where it is in force")
    geometry: JsonObject | None = Field(
        description="simplified GeoJSON; null when the alert has none"
    )
    area_levels: dict[str, int] = Field(
        description="level on the common danger scale per area code"
    )
    level: int = Field(description="highest level in force")
    life_critical: bool


class MunicipalityAnswers(BaseModel):
    municipality_code: str = Field(
        description='"unknown" for residents without a municipality'
    )
    counts: dict[str, int] = Field(
        description="answers per status", examples=[{"safe": 10, "need_help": 1}]
    )
    total: int


class NeedHelpCell(BaseModel):
    municipality_code: str | None
    lat: float = Field(description="the cell's centre")
    lon: float
    need_help: int


class SafetyReport(BaseModel):
    """Safety-check answers by area: where help is needed, never who."""

    scope: str | None = Field(
        description="the municipality counted; null: the prefecture"
    )
    event_key: str | None
    by_municipality: list[MunicipalityAnswers]
    need_help_cells: list[NeedHelpCell] = Field(
        description="cells with enough answers to show"
    )
    need_help_not_mapped: int = Field(
        description="need-help answers in cells too small to show"
    )
    cell_degrees: float
