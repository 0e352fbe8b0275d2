"""Latency of one alert's delivery, stage by stage, from the moment the service received its
document (``alerts.received_at``: the ingest transaction that stored it) and from the
document's own report time. Counts and times only: nothing about any resident.

Pushes are found through the event's deliveries (both indexed), never by scanning every
push row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.facts.lanes import lane_of_alert
from alerts.latency.schemas import AlertLatency, PushCounts, Stages

_ALERT = text(
    """
    SELECT a.id, a.event_id, a.category, a.msg_type, a.is_drill, a.issued_at, a.received_at, a.fanned_out_at,
           e.facts, (SELECT min(o.relayed_at) FROM alert_outbox o WHERE o.alert_id = a.id) AS relayed_at
    FROM alerts a JOIN alert_events e ON e.id = a.event_id
    WHERE a.id = :id
    """
)

_PUSHES = text(
    """
    SELECT count(*) AS total,
           count(*) FILTER (WHERE pm.status = 'ok') AS accepted,
           count(*) FILTER (WHERE pm.status = 'queued') AS queued,
           count(*) FILTER (WHERE pm.status IN ('dead_token', 'permanent', 'failed', 'no_token')) AS failed,
           count(*) FILTER (WHERE pm.status = 'superseded') AS superseded,
           min(pm.sent_at) FILTER (WHERE pm.status = 'ok') AS first_at,
           max(pm.sent_at) FILTER (WHERE pm.status = 'ok') AS last_at,
           percentile_disc(0.5) WITHIN GROUP (ORDER BY pm.sent_at) FILTER (WHERE pm.status = 'ok') AS p50_at,
           percentile_disc(0.95) WITHIN GROUP (ORDER BY pm.sent_at) FILTER (WHERE pm.status = 'ok') AS p95_at,
           min(pm.data->>'lane') AS lane
    FROM deliveries d JOIN push_messages pm ON pm.delivery_id = d.id
    WHERE d.event_id = :event_id AND pm.alert_id = :alert_id
    """
)


def _since(origin: Any, t: Any) -> float | None:
    return None if t is None or origin is None else round((t - origin).total_seconds(), 3)


def _stages(origin: Any, a: Any, p: Any) -> Stages:
    return Stages(
        relayed=_since(origin, a.relayed_at), first_push=_since(origin, p.first_at), p50_push=_since(origin, p.p50_at),
        p95_push=_since(origin, p.p95_at), last_push=_since(origin, p.last_at), fanned_out=_since(origin, a.fanned_out_at),
    )


async def alert_latency(session: AsyncSession, alert_id: int) -> AlertLatency | None:
    a = (await session.execute(_ALERT, {"id": alert_id})).first()
    if a is None:
        return None
    p = (await session.execute(_PUSHES, {"event_id": a.event_id, "alert_id": alert_id})).first()
    lane = p.lane or lane_of_alert(a.facts, msg_type=a.msg_type, category=a.category, is_drill=a.is_drill)
    return AlertLatency(
        alert_id=a.id, event_id=a.event_id, category=a.category, lane=lane, issued_at=a.issued_at,
        received_at=a.received_at, relayed_at=a.relayed_at, first_push_at=p.first_at, last_push_at=p.last_at,
        complete=a.fanned_out_at is not None and not p.queued,
        pushes=PushCounts(total=p.total, accepted=p.accepted, queued=p.queued, failed=p.failed, superseded=p.superseded),
        from_receipt_s=_stages(a.received_at, a, p),
        from_report_time_s=_stages(a.issued_at, a, p),
    )
