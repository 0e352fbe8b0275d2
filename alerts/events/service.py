"""Ingest: store each normalized alert once, attach it to its event, keep the event's state.

``ingest`` never commits (the caller's unit of work does); the outbox row is written in
the same transaction only when the alert is new, so a rolled-back ingest sends nothing
and a repeated document sends nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
import structlog
from prometheus_client import Counter
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.validation import make_valid
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.events import repository as repo

log = structlog.get_logger()

ALERTS_INGESTED = Counter(
    "bousai_alerts_ingested_total", "Normalized alerts offered to ingest", ["source", "category", "result"]
)

# An alert without an expiry (earthquake information, EEW) counts as in force for this long
# after its event's last issue.
NO_EXPIRY_IN_FORCE = timedelta(hours=24)


def in_force_until(expires_at: datetime | None, last_issued_at: datetime) -> datetime:
    """Until when an event counts as in force (while active or updated), from its latest alert."""
    return expires_at if expires_at is not None else last_issued_at + NO_EXPIRY_IN_FORCE


# CAP severity vocabulary, lowest first; JMA documents are mapped to it by the parser.
SEVERITY_RANK = {None: 0, "Unknown": 0, "Minor": 1, "Moderate": 2, "Severe": 3, "Extreme": 4}
# JMA warning statuses that mean "nothing in force any more" for that area.
JMA_CLEARED_STATUSES = {"解除", "発表警報・注意報はなし"}


class InvalidAlert(ValueError):
    """A normalized alert missing what storage needs (source, source_id, issued_at …)."""


@dataclass(frozen=True)
class IngestResult:
    created: bool
    alert_id: int
    event_id: int  # alert_events.id


def _as_dict(alert: Any) -> dict[str, Any]:
    if not isinstance(alert, dict):
        to_dict = getattr(alert, "to_dict", None)
        if to_dict is None:
            raise InvalidAlert(f"not a normalized alert: {type(alert).__name__}")
        obj = alert
        alert = to_dict()
        # to_dict() drops falsy fields, and evacuation level 0 (解除) is falsy: keep it.
        if getattr(obj, "level", None) is not None and "level" not in alert:
            alert["level"] = obj.level
    # JSONB payload: datetimes and other non-JSON values become strings, as `bousai parse` prints them.
    return orjson.loads(orjson.dumps(alert, default=str))


def _parse_time(value: Any, field: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidAlert(f"{field} is not ISO 8601: {value!r}") from exc
    if dt.tzinfo is None:
        raise InvalidAlert(f"{field} has no UTC offset: {value!r}")
    return dt


def geometry_wkt(geojson: Any) -> str | None:
    """Polygons of a GeoJSON geometry / Feature / FeatureCollection as MultiPolygon WKT, else None."""
    if not geojson:
        return None
    if geojson.get("type") == "Feature":
        geojson = geojson.get("geometry")
    elif geojson.get("type") == "FeatureCollection":
        geoms = [f.get("geometry") for f in geojson.get("features", []) if f and f.get("geometry")]
        geojson = {"type": "GeometryCollection", "geometries": geoms}
    if not geojson:
        return None
    geom = make_valid(shape(geojson))
    polygons: list[Polygon] = []
    stack = [geom]
    while stack:
        g = stack.pop()
        if isinstance(g, Polygon):
            if not g.is_empty:
                polygons.append(g)
        elif hasattr(g, "geoms"):
            stack.extend(g.geoms)
    if not polygons:
        return None
    return MultiPolygon(polygons).wkt


def area_codes(payload: dict[str, Any]) -> list[str]:
    codes: list[str] = []
    for area in payload.get("areas") or []:
        code = area.get("code") if isinstance(area, dict) else None
        if code and str(code) not in codes:
            codes.append(str(code))
    return codes


def _evacuation_level(payload: dict[str, Any]) -> Any:
    """The CAP evacuation level wherever the parser put it (profile: eventCode bousai:evacuation-level)."""
    for key in ("evacuation_level", "level"):
        if payload.get(key) is not None:
            return payload[key]
    evac = payload.get("evacuation")
    if isinstance(evac, dict) and evac.get("level") is not None:
        return evac["level"]
    for holder in ("event_codes", "eventCodes", "parameters"):
        codes = payload.get(holder)
        if isinstance(codes, dict) and codes.get("bousai:evacuation-level") is not None:
            return codes["bousai:evacuation-level"]
        if isinstance(codes, list):
            for c in codes:
                if isinstance(c, dict) and c.get("valueName") == "bousai:evacuation-level":
                    return c.get("value")
    return None


def is_all_clear(payload: dict[str, Any]) -> bool:
    """True when the document ends what the event announced (warnings lifted, evacuation lifted)."""
    if payload.get("category") == "evacuation":
        level = _evacuation_level(payload)
        if level is not None and str(level).strip() in {"0", "解除"}:
            return True
        if level is None and "解除" in str(payload.get("headline") or ""):
            return True
    statuses = [
        w.get("status")
        for area in payload.get("areas") or []
        if isinstance(area, dict)
        for w in area.get("warnings") or []
        if isinstance(w, dict)
    ]
    return bool(statuses) and all(s in JMA_CLEARED_STATUSES for s in statuses) and "解除" in statuses


# Tsunami grades that are no warning at all (津波予報: 若干の海面変動 / なし).
TSUNAMI_NOT_IN_FORCE = {"forecast", "none"}


def tsunami_lifted(payload: dict[str, Any]) -> bool:
    """A tsunami document that follows a warning and leaves no area under a warning/advisory."""
    if payload.get("category") != "tsunami":
        return False
    grades = [a.get("tsunami_grade") for a in payload.get("areas") or [] if isinstance(a, dict)]
    return bool(grades) and all(g in TSUNAMI_NOT_IN_FORCE for g in grades)


def next_state(current_state: str | None, msg_type: str, payload: dict[str, Any]) -> str:
    if msg_type == "cancel":
        return "cancelled"
    if is_all_clear(payload):
        return "cleared"
    if current_state is None:
        return "active"
    if tsunami_lifted(payload):
        return "cleared"
    return "updated"


def _alert_values(d: dict[str, Any]) -> dict[str, Any]:
    source = d.get("source")
    if source not in ("jma", "cap"):
        raise InvalidAlert(f"unknown source: {source!r}")
    source_id = d.get("source_id")
    if not source_id:
        raise InvalidAlert("source_id is missing")
    msg_type = d.get("msg_type")
    if msg_type not in ("alert", "update", "cancel"):
        raise InvalidAlert(f"unknown msg_type: {msg_type!r}")
    issued_at = _parse_time(d.get("issued_at"), "issued_at")
    if issued_at is None:
        raise InvalidAlert("issued_at is missing")
    drill = d.get("is_drill")
    if drill is None:
        drill = str(d.get("status") or "").lower() in {"exercise", "test", "訓練", "試験"}
    return {
        "source": source,
        "source_id": str(source_id),
        "msg_type": msg_type,
        "issued_at": issued_at,
        "category": d.get("category") or "other",
        "severity": d.get("severity"),
        "headline": d.get("headline"),
        "expires_at": _parse_time(d.get("expires_at"), "expires_at"),
        "payload": d,
        "area_codes": area_codes(d),
        "is_drill": bool(drill),
    }


async def ingest(session: AsyncSession, alert: Any) -> IngestResult:
    """Store one normalized alert idempotently by (source, source_id). Never commits."""
    d = _as_dict(alert)
    values = _alert_values(d)
    event_key = str(d.get("event_id") or values["source_id"])
    try:
        wkt = geometry_wkt(d.get("geometry"))
    except Exception as exc:  # a bad polygon must not lose the alert: area codes still target it
        log.warning("alerts.ingest.geometry_invalid", source_id=values["source_id"], error=str(exc))
        wkt = None

    event = await repo.lock_or_create_event(
        session,
        source=values["source"],
        event_id=event_key,
        category=values["category"],
        issued_at=values["issued_at"],
        severity=values["severity"],
    )
    alert_id = await repo.insert_alert(session, {**values, "event_id": event.id}, wkt)
    if alert_id is None:
        existing = await repo.find_alert_ids(session, values["source"], values["source_id"])
        assert existing is not None  # the conflict that suppressed the insert is this row
        ALERTS_INGESTED.labels(values["source"], values["category"], "duplicate").inc()
        return IngestResult(created=False, alert_id=existing[0], event_id=existing[1])

    first_alert = event.latest_alert_id is None
    issued = values["issued_at"]
    changes: dict[str, Any] = {"first_issued_at": min(event.first_issued_at, issued)}
    if SEVERITY_RANK.get(values["severity"], 0) > SEVERITY_RANK.get(event.max_severity, 0):
        changes["max_severity"] = values["severity"]
    # A document older than what the event already shows (out-of-order fetch) is stored but
    # does not roll the event's current state back.
    if first_alert or issued >= event.last_issued_at:
        changes.update(
            state=next_state(None if first_alert else event.state, values["msg_type"], d),
            severity=values["severity"],
            latest_alert_id=alert_id,
            last_issued_at=issued,
            in_force_until=in_force_until(values["expires_at"], issued),
        )
        if first_alert:
            changes["category"] = values["category"]
    else:
        log.info("alerts.ingest.out_of_order", source_id=values["source_id"], event_id=event_key)
    await repo.update_event(session, event.id, **changes)
    await repo.insert_outbox(session, alert_id)
    ALERTS_INGESTED.labels(values["source"], values["category"], "created").inc()
    log.info(
        "alerts.ingest.stored",
        alert_id=alert_id,
        event_pk=event.id,
        event_id=event_key,
        msg_type=values["msg_type"],
        state=changes.get("state", event.state),
    )
    return IngestResult(created=True, alert_id=alert_id, event_id=event.id)
