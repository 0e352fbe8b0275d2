"""Check-in at shelters (``/v1/shelters/checkin``), households outside shelters
(``/v1/me/evacuation``), and for staff: check-in by hand, the shelters' codes and QR sheets,
the roster (``/v1/staff/roster``)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from geo.shelters import repository as shelters_repo
from geo.shelters import codes, qr
from alerts.evacuees import roster, service
from alerts.evacuees.schemas import (
    CheckinCodeOut,
    Roster,
    CheckinIn,
    CheckinOut,
    CheckoutIn,
    OutsideIn,
    OutsideOut,
    StaffCheckinIn,
    StaffCheckoutIn,
)
from alerts.evacuees.config import get_evacuees_settings
from server import ratelimit
from alerts.staff.audit.service import record
from my_evacuation.residents.deps import current_device
from my_evacuation.residents.service import CurrentDevice
from server.deps import SESSION
from server.schemas import CsvResponse, SvgResponse, text_body
from server.errors import NotFound
from alerts.staff.deps import require_staff
from alerts.staff.principal import StaffPrincipal


# One round trip to Redis on the local network; past this it is down for this request.
RATE_LIMIT_DEADLINE_SECONDS = 0.5


async def checkin_rate_limit(request: Request) -> None:
    key = ratelimit.bearer_key(request)
    if key is None:
        return  # no credential: the auth dependency answers 401
    limit = get_evacuees_settings().checkin_requests_per_minute
    try:
        async with asyncio.timeout(RATE_LIMIT_DEADLINE_SECONDS):
            verdict = await ratelimit.hit(request.app.state.redis, "checkin", key, limit=limit, window=60)
    except (RedisError, OSError, TimeoutError):
        return  # Redis down: a check-in at a shelter matters more than counting it
    if not verdict.allowed:
        ratelimit.raise_limited(verdict, "check-in requests")


router = APIRouter()

operators = require_staff(roles=("prefecture", "municipal"))
readers = require_staff(roles=("admin", "prefecture", "municipal", "viewer"))
MUNI = Query(None, pattern=r"^[0-9]{6}$")


# --- residents ---------------------------------------------------------------------------

@router.post("/v1/shelters/checkin", response_model=CheckinOut, tags=["shelters"],
             dependencies=[Depends(checkin_rate_limit)])
async def check_in(body: CheckinIn, response: Response, session: AsyncSession = SESSION,
                   current: CurrentDevice = Depends(current_device)):
    """Check in with the shelter's code. Repeat with the same ``client_id`` as often as needed
    (an offline queue): the first one counts, the rest answer ``duplicate: true``."""
    out = await service.check_in(session, current.resident_id, body)
    response.status_code = 200 if out["duplicate"] else 201
    return out


@router.post("/v1/shelters/checkout", response_model=CheckinOut, tags=["shelters"],
             dependencies=[Depends(checkin_rate_limit)])
async def check_out(body: CheckoutIn, session: AsyncSession = SESSION,
                    current: CurrentDevice = Depends(current_device)):
    return await service.check_out(session, current.resident_id, body)


@router.get("/v1/me/checkin", response_model=CheckinOut | None, tags=["shelters"])
async def my_checkin(session: AsyncSession = SESSION, current: CurrentDevice = Depends(current_device)):
    """Where I am checked in now (null: nowhere)."""
    return await service.current(session, current.resident_id)


@router.put("/v1/me/evacuation", response_model=OutsideOut, tags=["my evacuation"])
async def set_outside(body: OutsideIn, request: Request, session: AsyncSession = SESSION,
                      current: CurrentDevice = Depends(current_device)):
    """Evacuated, but not in a shelter: in the car, at relatives', upstairs at home, elsewhere.
    Ends a check-in still open. Kept for a day after the last update unless renewed."""
    geocoder = getattr(request.app.state, "geocoder", None)
    return await service.set_outside(session, current.resident_id, body, geocoder)


@router.get("/v1/me/evacuation", response_model=OutsideOut | None, tags=["my evacuation"])
async def get_outside(session: AsyncSession = SESSION, current: CurrentDevice = Depends(current_device)):
    return await service.get_outside(session, current.resident_id)


@router.delete("/v1/me/evacuation", status_code=204, tags=["my evacuation"])
async def clear_outside(session: AsyncSession = SESSION, current: CurrentDevice = Depends(current_device)):
    await service.clear_outside(session, current.resident_id)
    return Response(status_code=204)


# --- staff -------------------------------------------------------------------------------

@router.post("/v1/staff/shelters/{shelter_id}/checkins", status_code=201, response_model=CheckinOut,
             tags=["staff: evacuees"])
async def staff_check_in(shelter_id: str, body: StaffCheckinIn, response: Response, session: AsyncSession = SESSION,
                         principal: StaffPrincipal = Depends(operators)):
    """Check people in by hand (no phone): head count, names if given, needs."""
    out = await service.staff_check_in(session, principal, shelter_id, body)
    if out["duplicate"]:
        response.status_code = 200
    return out


@router.post("/v1/staff/checkins/{checkin_id}/checkout", response_model=CheckinOut, tags=["staff: evacuees"])
async def staff_check_out(body: StaffCheckoutIn, checkin_id: int = Path(ge=1, le=2**63 - 1), session: AsyncSession = SESSION,
                          principal: StaffPrincipal = Depends(operators)):
    return await service.staff_check_out(session, principal, checkin_id, body)


async def _code_in_scope(session: AsyncSession, principal: StaffPrincipal, shelter_id: str) -> tuple[dict, codes.CheckinCode]:
    shelter = await shelters_repo.get(session, shelter_id)
    if shelter is None or not principal.covers(shelter["municipality_code"]):
        raise NotFound(f"no shelter {shelter_id!r}")
    found = await shelters_repo.code_version(session, shelter_id)
    return shelter, await codes.code_for(session, shelter_id, found[2])


@router.get("/v1/staff/shelters/{shelter_id}/checkin-code", tags=["staff: evacuees"], response_model=CheckinCodeOut)
async def checkin_code(shelter_id: str, session: AsyncSession = SESSION, principal: StaffPrincipal = Depends(operators)):
    """The shelter's current check-in code and the URL its QR code holds."""
    shelter, code = await _code_in_scope(session, principal, shelter_id)
    return {"shelter_id": shelter_id, "name": shelter["name"], "version": code.version, "token": code.token, "url": code.url}


@router.get("/v1/staff/shelters/{shelter_id}/checkin-code.svg", tags=["staff: evacuees"], response_class=SvgResponse,
            responses=text_body("image/svg+xml", "A4 sheet with the QR code"))
async def checkin_sheet(shelter_id: str, session: AsyncSession = SESSION, principal: StaffPrincipal = Depends(operators)):
    """A printable A4 sheet: the shelter's name, its QR code, instructions in Japanese and English."""
    shelter, code = await _code_in_scope(session, principal, shelter_id)
    svg = qr.qr_svg_sheet(shelter_id=shelter_id, name=shelter["name"], address=shelter.get("address"), url=code.url,
                          version=code.version)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


@router.post("/v1/staff/shelters/{shelter_id}/checkin-code/rotate", tags=["staff: evacuees"], response_model=CheckinCodeOut)
async def rotate_code(shelter_id: str, session: AsyncSession = SESSION, principal: StaffPrincipal = Depends(operators)):
    """A new code for the shelter; every code printed before stops working at once."""
    shelter, old = await _code_in_scope(session, principal, shelter_id)
    version = await shelters_repo.bump_code_version(session, shelter_id)
    await record(session, principal, "shelter.checkin_code_rotate", ("shelter", shelter_id), {"version": old.version},
                 {"version": version}, municipality_code=shelter["municipality_code"])
    code = await codes.code_for(session, shelter_id, version)
    return {"shelter_id": shelter_id, "name": shelter["name"], "version": code.version, "token": code.token, "url": code.url}


@router.get("/v1/staff/roster", tags=["staff: evacuees"], response_model=Roster, response_model_exclude_unset=True)
async def get_roster(municipality_code: str | None = MUNI, shelter_id: str | None = Query(None, max_length=200),
                     session: AsyncSession = SESSION, principal: StaffPrincipal = Depends(readers)):
    """Who is where: checked in per shelter, households outside shelters, needs, and the safety
    figures (need help, unanswered checks). Names and needs only for operators. Audited."""
    return await roster.roster(session, principal, municipality_code=municipality_code, shelter_id=shelter_id)


@router.get("/v1/staff/roster.csv", tags=["staff: evacuees"], response_class=CsvResponse,
            responses=text_body("text/csv", "The roster, UTF-8 with BOM, CRLF"))
async def get_roster_csv(municipality_code: str | None = MUNI, shelter_id: str | None = Query(None, max_length=200),
                         session: AsyncSession = SESSION, principal: StaffPrincipal = Depends(operators)):
    """The roster as CSV (columns in the README). Audited."""
    body = await roster.roster_csv(session, principal, municipality_code=municipality_code, shelter_id=shelter_id)
    name = f"roster-{shelter_id or municipality_code or principal.municipality_code or 'prefecture'}.csv".replace(":", "_")
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
