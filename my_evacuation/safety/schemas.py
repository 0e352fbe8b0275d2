"""Safety-check answer shapes."""

from __future__ import annotations

from pydantic import BaseModel, Field

from my_evacuation.family.schemas import StatusOut
from server.schemas import Timestamp


class AnswerOut(BaseModel):
    answered: bool = Field(description="this answer was the check's first")
    updated: bool = Field(
        description="the answer changed your status (your family is told); false: same as before"
    )
    status: StatusOut | None = Field(description="your safety status now")


class SafetyCheckOut(BaseModel):
    """A safety check sent to you after a disaster; unanswered ones first."""

    id: int
    event_key: str
    alert_id: int | None
    category: str = Field(examples=["earthquake"])
    reason: str = Field(
        description="why you were asked, as a code", examples=["intensity:6-"]
    )
    created_at: Timestamp
    answered_at: Timestamp | None
    answer_status: str | None = Field(
        description="your answer (a safety status); null: unanswered"
    )
    reminders_sent: int
    reason_text: str = Field(description="the reason in your language")
