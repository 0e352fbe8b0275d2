"""Check-in, check-out, outside-shelter and roster payloads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from alerts.evacuees.models import NEEDS, WHEREABOUTS
from server.schemas import JsonObject, Timestamp

Need = Literal[NEEDS]  # type: ignore[valid-type]
Whereabouts = Literal[WHEREABOUTS]  # type: ignore[valid-type]
# A UUID, a ULID or the app's own counter: printable, no spaces, short.
ClientId = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$",
                 description="made by the client once per check-in; a repeat with the same id is the same check-in")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CheckinIn(_Strict):
    client_id: str = ClientId
    code: str = Field(min_length=1, max_length=600, description="the scanned QR code: its URL or the token alone")
    at: AwareDatetime = Field(description="when it happened, by the phone's clock (a queued check-in arrives late)")
    members: list[str] = Field(default_factory=list, max_length=20,
                               description="ids of the household members (from the resident's evacuation plan) who came")
    headcount: int | None = Field(default=None, ge=1, le=100, description="how many people came; default: the members, else 1")
    needs: list[Need] = Field(default_factory=list, max_length=len(NEEDS))
    note: str | None = Field(default=None, max_length=200)


class StaffMember(_Strict):
    label: str = Field(min_length=1, max_length=40)
    age_band: str | None = Field(default=None, max_length=16)
    needs: list[Need] = Field(default_factory=list, max_length=len(NEEDS))


class StaffCheckinIn(_Strict):
    """Staff check people in by hand (no phone): a head count, names if given, needs."""

    client_id: str = ClientId
    at: AwareDatetime | None = Field(default=None, description="default: now")
    headcount: int | None = Field(default=None, ge=1, le=100)
    members: list[StaffMember] = Field(default_factory=list, max_length=20)
    needs: list[Need] = Field(default_factory=list, max_length=len(NEEDS))
    note: str | None = Field(default=None, max_length=200)


class CheckoutIn(_Strict):
    client_id: str = ClientId
    at: AwareDatetime
    checkin_client_id: str | None = Field(default=None, max_length=64,
                                          description="the check-in to end; default: my current one")


class StaffCheckoutIn(_Strict):
    at: AwareDatetime | None = None


class CheckinOut(BaseModel):
    id: int
    client_id: str
    shelter_id: str
    shelter_name: str
    state: Literal["in", "out", "moved"]
    headcount: int
    needs: list[str]
    members: list[dict]
    checked_in_at: datetime
    checked_out_at: datetime | None = None
    duplicate: bool = Field(False, description="this client id was seen before: nothing changed")
    shelter_checked_in: int | None = Field(None, description="people checked in at the shelter now")
    shelter_occupancy: int | None = None
    shelter_crowding: str | None = None
    shelter_open: bool | None = None


class Location(_Strict):
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)


class OutsideIn(_Strict):
    whereabouts: Whereabouts = Field(description="car (車中泊), relatives, home_upstairs (垂直避難), elsewhere")
    headcount: int | None = Field(default=None, ge=1, le=100)
    members: list[str] = Field(default_factory=list, max_length=20, description="member ids from the plan")
    needs: list[Need] = Field(default_factory=list, max_length=len(NEEDS))
    note: str | None = Field(default=None, max_length=200)
    share_location: bool = False
    location: Location | None = Field(default=None, description="stored only with share_location")


class OutsideOut(BaseModel):
    whereabouts: str
    headcount: int
    members: list[dict]
    needs: list[str]
    note: str | None
    share_location: bool
    location: Location | None
    municipality_code: str | None
    until_events_end: list[int] = Field(description="alert events in force when it was set: cleared once all have ended")
    updated_at: datetime
    expires_at: datetime


class CheckinCodeOut(BaseModel):
    """A shelter's current check-in code: what its printed QR code holds."""

    shelter_id: str
    name: str = Field(description="the shelter's name")
    version: int = Field(description="bumped by each rotation; a code of an older version no longer works")
    token: str
    url: str = Field(description="the URL in the QR code (the token at the end)")


class PeopleCount(BaseModel):
    people: int
    households: int


class OutsideCount(PeopleCount):
    by_whereabouts: dict[str, int] = Field(description="people per whereabouts", examples=[{"car": 3}])


class RosterCounts(BaseModel):
    checked_in: PeopleCount
    outside: OutsideCount
    households_by_need: dict[str, int] = Field(description="households per need (every need listed)")
    need_help: int = Field(description='residents (by their home) whose status is "need help"')
    safety_checks_unanswered: int


class RosterShelter(BaseModel):
    shelter_id: str
    name: str
    people: int
    households: int


_PERSONAL = "operators only (absent for viewers and administrators)"


class RosterCheckedIn(BaseModel):
    """A household checked in at a shelter. ``members``, ``needs`` and ``note``: """ + _PERSONAL + "."

    kind: Literal["checked_in"]
    id: int
    municipality_code: str
    shelter_id: str
    shelter_name: str
    headcount: int
    since: Timestamp = Field(description="the check-in time (the phone's clock)")
    source: Literal["app", "staff"]
    members: list[JsonObject] | None = Field(None, description="{id, label, age_band, needs} as given; " + _PERSONAL)
    needs: list[str] | None = Field(None, description=_PERSONAL)
    note: str | None = Field(None, description=_PERSONAL)


class LatLon(BaseModel):
    lat: float
    lon: float


class RosterOutside(BaseModel):
    """A household outside shelters. ``members``, ``needs``, ``note``, ``location``: """ + _PERSONAL + "."

    kind: Literal["outside"]
    municipality_code: str | None
    whereabouts: str = Field(examples=["car", "relatives", "home_upstairs", "elsewhere"])
    headcount: int
    since: Timestamp = Field(description="the entry's last update")
    source: Literal["app"]
    members: list[JsonObject] | None = Field(None, description=_PERSONAL)
    needs: list[str] | None = Field(None, description=_PERSONAL)
    note: str | None = Field(None, description=_PERSONAL)
    location: LatLon | None = Field(None, description="only when the household shared it; " + _PERSONAL)


class Roster(BaseModel):
    """Who is where, within the account's scope."""

    municipality_code: str | None = Field(description="null: the whole prefecture")
    shelter_id: str | None
    personal_details: bool = Field(description="names, needs and notes are in the entries (operators)")
    counts: RosterCounts
    shelters: list[RosterShelter] = Field(description="per shelter, most people first")
    entries: list[Annotated[RosterCheckedIn | RosterOutside, Field(discriminator="kind")]]
