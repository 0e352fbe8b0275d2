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
from alerts import facts as alert_facts

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


SEVERITY_RANK = {None: 0, **alert_facts.SEVERITY_RANK}


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


def event_state(first_alert: bool, facts: alert_facts.GroupFacts) -> str:
    """The event's state from the danger now (every product's newest document), whatever
    order its documents arrived in: ``cancelled`` when every product was withdrawn;
    ``cleared`` when a warning-type danger has nothing left in force (only a product that
    can lift it gets it there: observation products and 報知 never lift anything);
    otherwise ``active`` for the first document and ``updated`` after."""
    if facts.cancelled:
        return "cancelled"
    if facts.lifecycle == alert_facts.WARNING and facts.authoritative and not facts.in_force:
        return "cleared"
    return "active" if first_alert else "updated"


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
    product = alert_facts.product_of(d)
    event_key = alert_facts.group_key(d) or values["source_id"]
    try:
        wkt = geometry_wkt(d.get("geometry"))
    except Exception as exc:  # a bad polygon must not lose the alert: area codes still target it
        log.warning("alerts.ingest.geometry_invalid", source_id=values["source_id"], error=str(exc))
        wkt = None

    event = await repo.lock_or_create_event(
        session,
        source=values["source"],
        event_id=event_key,
        category=product.category if values["category"] != "other" else "other",
        issued_at=values["issued_at"],
        severity=values["severity"],
    )
    alert_id = await repo.insert_alert(
        session, {**values, "event_id": event.id, "product": product.family, "serial": alert_facts.serial_of(d)}, wkt
    )
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
    # The danger now, from the newest document of each product: a document older than its
    # product's newest (out-of-order arrival, a retry) changes nothing; a 取消 withdraws its
    # own product only.
    docs = await repo.newest_per_product(session, event.id)
    facts = alert_facts.combine((i, alert_facts.doc_facts(p)) for i, p in docs)
    changes.update(facts=facts.to_json(), state=event_state(first_alert, facts))
    if first_alert or issued >= event.last_issued_at:
        changes.update(
            severity=values["severity"],
            latest_alert_id=alert_id,
            last_issued_at=issued,
            in_force_until=in_force_until(values["expires_at"], issued),
        )
        if first_alert:
            changes["category"] = product.category if values["category"] != "other" else "other"
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
