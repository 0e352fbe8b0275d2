"""Resident endpoints of delivery: preferences, and the pull that is the truth.

- ``GET/PUT /v1/me/preferences``: categories, seismic thresholds (per place), weather
  level and kinds, quiet hours. Thresholds may only name the resident's own places.
- ``GET /v1/me/alerts?since=CURSOR``: every alert in force for the resident's places with
  its current state, whether a push told them or not, and what they were told
  (``alerts.delivery.pull``). The app resyncs with it on launch and after any push.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.delivery import pull, service
from alerts.delivery.preferences import Preferences
from alerts.delivery.schemas import MyAlerts, PreferencesOut
from my_evacuation.residents.deps import current_device
from my_evacuation.residents.service import CurrentDevice
from server import fastpath
from server.bearer import hash_token
from server.db import raw_connection
from server.deps import SESSION
from server.errors import AppError

router = APIRouter(tags=["alerts"])

LIFE_CRITICAL = ["EEW 警報", "大津波警報", "津波警報", "緊急安全確保", "避難指示", "J-ALERT"]


def _prefs_out(p: Preferences) -> PreferencesOut:
    return PreferencesOut(preferences=p.model_dump(), life_critical_always=LIFE_CRITICAL)


@router.get("/v1/me/preferences", response_model=PreferencesOut)
async def get_preferences(
    me: CurrentDevice = Depends(current_device), session: AsyncSession = SESSION
) -> PreferencesOut:
    return _prefs_out(await service.resident_preferences(session, me.resident_id))


@router.put("/v1/me/preferences", response_model=PreferencesOut)
async def put_preferences(
    body: dict, me: CurrentDevice = Depends(current_device), session: AsyncSession = SESSION
) -> PreferencesOut:
    try:
        prefs = Preferences.model_validate(body)
    except ValidationError as exc:
        detail = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        raise AppError("invalid preferences", code="invalid_preferences", detail=detail, status_code=422) from None
    await service.set_resident_preferences(session, me.resident_id, prefs)
    return _prefs_out(prefs)


@router.get("/v1/me/alerts", response_model=MyAlerts)
async def my_alerts(
    since: str | None = Query(None, max_length=128, description="cursor from the previous call"),
    me: CurrentDevice = Depends(current_device),
    session: AsyncSession = SESSION,
) -> MyAlerts:
    """Every alert in force for your places (and those you were told about, for a day after
    they end), with its state now. With ``since``: only what changed, unless the list itself
    changed (``complete: true``: replace your list with this one)."""
    return await pull.my_alerts(session, me.resident_id, since, device_id=me.device_id)


SINCE_MAX_LENGTH = 128  # the route's own bound on ``since``
_PULL_QUERY = frozenset({"since"})
# The bytes FastAPI writes for the route's response model (TypeAdapter.dump_json, by alias).
_MY_ALERTS_JSON = TypeAdapter(MyAlerts)


def _horizon(state) -> pull.SharedHorizon:
    """The read horizon this app's fast pulls share (one database: the app's raw pool's)."""
    shared = getattr(state, "pull_horizon", None)
    if shared is None:
        shared = state.pull_horizon = pull.SharedHorizon()
    return shared


async def _fast_pull(req: fastpath.FastGet) -> bytes | None:
    """``GET /v1/me/alerts`` for a known device with a readable cursor or none (the app's
    launch, and every app opened after a push): on a driver connection of the raw pool, with
    no session, dependency injection or response validation. Anything else goes to the
    route above (``server.fastpath``)."""
    query = req.query(_PULL_QUERY)
    token = req.bearer()
    if query is None or token is None or len(query.get("since", "")) > SINCE_MAX_LENGTH:
        return None
    try:
        async with raw_connection(req.state.raw_pg) as raw:
            out = await pull.my_alerts_by_token(raw, hash_token(token), query.get("since"), horizon=_horizon(req.state))
    except pull.BadCursor:
        return None
    return None if out is None else _MY_ALERTS_JSON.dump_json(out, by_alias=True)


def install_middleware(app) -> None:
    fastpath.add(app, "/v1/me/alerts", _fast_pull)
