"""Latency of one alert's delivery, stage by stage, from the moment the service received its
document (``alerts.received_at``: the ingest transaction that stored it) and from the
document's own report time. Counts and times only: nothing about any resident.

Pushes are found through the event's deliveries (both indexed), never by scanning every
push row."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from alerts.delivery import repository as deliveries_repo
from alerts.events import outbox_repository as outbox_repo
from alerts.facts.lanes import lane_of_alert
from alerts.latency.schemas import AlertLatency, PushCounts, Stages

def _since(origin: Any, t: Any) -> float | None:
    return None if t is None or origin is None else round((t - origin).total_seconds(), 3)


def _stages(origin: Any, a: Any, p: Any) -> Stages:
    return Stages(
        relayed=_since(origin, a.relayed_at), first_push=_since(origin, p.first_at), p50_push=_since(origin, p.p50_at),
        p95_push=_since(origin, p.p95_at), last_push=_since(origin, p.last_at), fanned_out=_since(origin, a.fanned_out_at),
    )


async def alert_latency(session: AsyncSession, alert_id: int) -> AlertLatency | None:
    a = await outbox_repo.alert_times(session, alert_id)
    if a is None:
        return None
    p = await deliveries_repo.alert_push_stats(session, alert_id, a.event_id)
    lane = p.lane or lane_of_alert(a.facts, msg_type=a.msg_type, category=a.category, is_drill=a.is_drill)
    return AlertLatency(
        alert_id=a.id, event_id=a.event_id, category=a.category, lane=lane, issued_at=a.issued_at,
        received_at=a.received_at, relayed_at=a.relayed_at, first_push_at=p.first_at, last_push_at=p.last_at,
        complete=a.fanned_out_at is not None and not p.queued,
        pushes=PushCounts(total=p.total, accepted=p.accepted, queued=p.queued, failed=p.failed, superseded=p.superseded),
        from_receipt_s=_stages(a.received_at, a, p),
        from_report_time_s=_stages(a.issued_at, a, p),
    )
