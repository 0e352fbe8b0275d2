"""Resident endpoints of delivery: preferences, and the pull that is the truth.

- ``GET/PUT /v1/me/preferences``: categories, seismic thresholds (per place), weather
  level and kinds, quiet hours. Thresholds may only name the resident's own places.
- ``GET /v1/me/alerts?since=CURSOR``: every alert event that reached the resident (told,
  or held by quiet hours), with the event's current state and what the resident was
  told, changed since the cursor; without a cursor, everything not ended more than
  ``ENDED_VISIBLE`` ago. The app resyncs with it on launch and after any push.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, Query
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.delivery.preferences import Preferences, load_preferences
from alerts.delivery.schemas import DeliveryState, MyAlert, MyAlerts, PreferencesOut
from server.auth.deps import current_device
from server.auth.service import CurrentDevice
from server.deps import get_session
from server.errors import AppError

router = APIRouter(tags=["alerts"])

# Ended events stay in a cursor-less pull this long, so an app opened the morning after
# still sees the all-clear.
ENDED_VISIBLE = timedelta(hours=24)
PAGE_SIZE = 200
LIFE_CRITICAL = ["EEW 警報", "大津波警報", "津波警報", "緊急安全確保", "避難指示", "J-ALERT"]


class BadCursor(AppError):
    status_code = 400
    code = "bad_cursor"


def encode_cursor(updated_at: datetime, row_id: int) -> str:
    micros = int(updated_at.timestamp() * 1_000_000)
    return base64.urlsafe_b64encode(f"{micros}:{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        micros, row_id = raw.split(":")
        return datetime.fromtimestamp(int(micros) / 1_000_000, UTC), int(row_id)
    except (ValueError, UnicodeDecodeError, OverflowError, OSError) as exc:
        raise BadCursor("since is not a cursor returned by this endpoint") from exc


def _prefs_out(p: Preferences) -> PreferencesOut:
    return PreferencesOut(preferences=p.model_dump(), life_critical_always=LIFE_CRITICAL)


@router.get("/v1/me/preferences", response_model=PreferencesOut)
async def get_preferences(
    me: CurrentDevice = Depends(current_device), session: AsyncSession = Depends(get_session)
) -> PreferencesOut:
    raw = (await session.execute(text("SELECT preferences FROM residents WHERE id = :r"), {"r": me.resident_id})).scalar()
    return _prefs_out(load_preferences(raw))


@router.put("/v1/me/preferences", response_model=PreferencesOut)
async def put_preferences(
    body: dict, me: CurrentDevice = Depends(current_device), session: AsyncSession = Depends(get_session)
) -> PreferencesOut:
    try:
        prefs = Preferences.model_validate(body)
    except ValidationError as exc:
        detail = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        raise AppError("invalid preferences", code="invalid_preferences", detail=detail, status_code=422) from None
    if prefs.seismic_thresholds:
        wanted = sorted({int(p) for p in prefs.seismic_thresholds})
        mine = {
            r[0]
            for r in await session.execute(
                text("SELECT id FROM places WHERE resident_id = :r AND id = ANY(:ids)"), {"r": me.resident_id, "ids": wanted}
            )
        }
        unknown = [p for p in wanted if p not in mine]
        if unknown:
            raise AppError(f"not your places: {unknown}", code="unknown_place", detail={"place_ids": unknown}, status_code=400)
    await session.execute(
        text("UPDATE residents SET preferences = CAST(:p AS jsonb) WHERE id = :r"),
        {"p": prefs.model_dump_json(exclude_defaults=True), "r": me.resident_id},
    )
    return _prefs_out(prefs)


_MINE = text(
    """
    SELECT d.id, d.status, d.rank, d.max_rank, d.held_by_quiet_hours, d.critical, d.current_location, d.place_ids,
           d.told_at, d.cleared_at, d.updated_at, d.last_alert_id, d.event_id,
           e.state AS event_state, a.category, a.msg_type, a.headline, a.severity, a.issued_at, a.expires_at, a.is_drill
    FROM deliveries d
    JOIN alert_events e ON e.id = d.event_id
    JOIN alerts a ON a.id = COALESCE(e.latest_alert_id, d.last_alert_id)
    WHERE d.resident_id = :r
      AND (CAST(:since_ts AS timestamptz) IS NULL OR (d.updated_at, d.id) > (CAST(:since_ts AS timestamptz), CAST(:since_id AS bigint)))
      AND (CAST(:since_ts AS timestamptz) IS NOT NULL OR e.state IN ('active', 'updated') OR d.updated_at > :ended_after)
    ORDER BY d.updated_at, d.id
    LIMIT :limit
    """
)


@router.get("/v1/me/alerts", response_model=MyAlerts)
async def my_alerts(
    since: str | None = Query(None, max_length=64, description="cursor from the previous call"),
    me: CurrentDevice = Depends(current_device),
    session: AsyncSession = Depends(get_session),
) -> MyAlerts:
    since_ts, since_id = decode_cursor(since) if since else (None, 0)
    rows = (
        await session.execute(
            _MINE,
            {
                "r": me.resident_id,
                "since_ts": since_ts,
                "since_id": since_id,
                "ended_after": datetime.now(UTC) - ENDED_VISIBLE,
                "limit": PAGE_SIZE + 1,
            },
        )
    ).mappings().all()
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    if rows:
        cursor = encode_cursor(rows[-1]["updated_at"], rows[-1]["id"])
    else:
        cursor = since or encode_cursor(datetime.fromtimestamp(0, UTC), 0)
    return MyAlerts(
        alerts=[
            MyAlert(
                alert_id=r["last_alert_id"], event_id=r["event_id"], event_state=r["event_state"], category=r["category"],
                msg_type=r["msg_type"], headline=r["headline"], severity=r["severity"], issued_at=r["issued_at"],
                expires_at=r["expires_at"], is_drill=r["is_drill"],
                delivery=DeliveryState(
                    status=r["status"], rank=r["rank"], max_rank=r["max_rank"], held_by_quiet_hours=r["held_by_quiet_hours"],
                    critical=r["critical"], current_location=r["current_location"], place_ids=list(r["place_ids"] or []),
                    told_at=r["told_at"], cleared_at=r["cleared_at"], updated_at=r["updated_at"],
                ),
            )
            for r in rows
        ],
        cursor=cursor,
        more=more,
    )
