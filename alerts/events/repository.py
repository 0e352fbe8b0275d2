"""SQL for alerts and events. No logic here: the lifecycle rules live in ``service``."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from sqlalchemy import func, inspect, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.events.models import Alert, AlertEvent, AlertOutbox
from server import readcache

# The public detail (``GET /v1/alerts/{id}``) is the same for everyone: an alert and its
# event, kept per api process (server.readcache), dropped in every process when any event
# or alert is written (the ``alerts`` generation, bumped after the writer commits).
NAMESPACE = "alerts"
DETAIL_CACHE = readcache.ReadCache(NAMESPACE, max_entries=4096)
# get_alert then get_event in one request share one generation read (this long at most).
_GEN_MEMO_KEY = "bousai_alerts_generation"
_GEN_MEMO_SECONDS = 1.0


async def _generation(session: AsyncSession, *, keep: bool) -> int | None:
    """The ``alerts`` generation for a cached read; None (no cache) in a transaction that has
    written alerts or events itself (what it reads may never commit)."""
    if readcache.touched(session, NAMESPACE):
        return None
    memo = session.info.pop(_GEN_MEMO_KEY, None)
    if memo is not None and time.monotonic() - memo[1] <= _GEN_MEMO_SECONDS:
        return memo[0]
    gen = await readcache.generation(NAMESPACE)
    if keep and gen is not None:
        session.info[_GEN_MEMO_KEY] = (gen, time.monotonic())
    return gen


def _copy(model: Any, obj: Any) -> Any:
    """A transient copy holding every column: shared by requests, tied to no session."""
    return model(**{attr.key: getattr(obj, attr.key) for attr in inspect(model).column_attrs})


async def lock_or_create_event(
    session: AsyncSession, *, source: str, event_id: str, category: str, issued_at: datetime, severity: str | None
) -> AlertEvent:
    """The event row, created if missing, locked FOR UPDATE so concurrent ingests of one event serialize.

    Events are keyed by (source, event_id, category). A document whose category could not be
    told (a CAP Cancel without <info> parses as ``other``) joins the latest event of that id.
    """
    readcache.touch(session, NAMESPACE)
    if category == "other":
        existing = await session.execute(
            select(AlertEvent)
            .where(AlertEvent.source == source, AlertEvent.event_id == event_id)
            .order_by(AlertEvent.last_issued_at.desc())
            .limit(1)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        found = existing.scalar_one_or_none()
        if found is not None:
            return found
    await session.execute(
        insert(AlertEvent)
        .values(
            source=source,
            event_id=event_id,
            category=category,
            state="active",
            severity=severity,
            max_severity=severity,
            first_issued_at=issued_at,
            last_issued_at=issued_at,
        )
        .on_conflict_do_nothing(index_elements=["source", "event_id", "category"])
    )
    row = await session.execute(
        select(AlertEvent)
        .where(AlertEvent.source == source, AlertEvent.event_id == event_id, AlertEvent.category == category)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return row.scalar_one()


async def insert_alert(session: AsyncSession, values: dict[str, Any], geom_wkt: str | None) -> int | None:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id: the id when new, None when already stored."""
    readcache.touch(session, NAMESPACE)
    if geom_wkt is not None:
        values = {**values, "geom": func.ST_GeomFromText(geom_wkt, 4326)}
    result = await session.execute(
        insert(Alert).values(**values).on_conflict_do_nothing(index_elements=["source", "source_id"]).returning(Alert.id)
    )
    return result.scalar_one_or_none()


async def find_alert_ids(session: AsyncSession, source: str, source_id: str) -> tuple[int, int] | None:
    row = await session.execute(
        select(Alert.id, Alert.event_id).where(Alert.source == source, Alert.source_id == source_id)
    )
    found = row.first()
    return (found[0], found[1]) if found else None


async def update_event(session: AsyncSession, event_pk: int, **values: Any) -> None:
    readcache.touch(session, NAMESPACE)
    await session.execute(update(AlertEvent).where(AlertEvent.id == event_pk).values(updated_at=func.now(), **values))


async def insert_outbox(session: AsyncSession, alert_id: int) -> int:
    result = await session.execute(insert(AlertOutbox).values(alert_id=alert_id).returning(AlertOutbox.id))
    return result.scalar_one()


async def get_alert(session: AsyncSession, alert_id: int) -> dict[str, Any] | None:
    """``{"alert": Alert, "geojson": str | None}``. From the cache the alert is a transient
    copy shared with other requests: read it, never change or add it to a session."""
    gen = await _generation(session, keep=True)
    cached = DETAIL_CACHE.get(("alert", alert_id), gen)
    if cached is not None:
        return {"alert": cached[0], "geojson": cached[1]}
    row = await session.execute(
        select(Alert, func.ST_AsGeoJSON(Alert.geom).label("geojson")).where(Alert.id == alert_id)
    )
    found = row.first()
    if found is None:
        return None
    DETAIL_CACHE.put(("alert", alert_id), gen, (_copy(Alert, found[0]), found[1]))
    return {"alert": found[0], "geojson": found[1]}


async def get_event(session: AsyncSession, event_pk: int) -> AlertEvent | None:
    """The event; from the cache a transient copy shared with other requests (read only)."""
    gen = await _generation(session, keep=False)
    cached = DETAIL_CACHE.get(("event", event_pk), gen)
    if cached is not None:
        return cached
    event = await session.get(AlertEvent, event_pk)
    if event is not None:
        DETAIL_CACHE.put(("event", event_pk), gen, _copy(AlertEvent, event))
    return event


async def list_event_alerts(session: AsyncSession, event_pk: int, limit: int = 200) -> list[Alert]:
    rows = await session.execute(
        select(Alert).where(Alert.event_id == event_pk).order_by(Alert.issued_at, Alert.id).limit(limit)
    )
    return list(rows.scalars())


async def delete_relayed_outbox(session: AsyncSession, older_than: datetime) -> int:
    result = await session.execute(
        text("DELETE FROM alert_outbox WHERE relayed_at IS NOT NULL AND relayed_at < :t"), {"t": older_than}
    )
    return result.rowcount or 0


_NEWEST_PER_PRODUCT = text(
    """
    SELECT DISTINCT ON (product) id, payload
    FROM alerts
    WHERE event_id = :event_id
    ORDER BY product, issued_at DESC, serial DESC NULLS LAST, id DESC
    """
)


async def newest_per_product(session: AsyncSession, event_pk: int) -> list[tuple[int, dict[str, Any]]]:
    """(alert id, payload) of the newest document of each product of the event."""
    rows = (await session.execute(_NEWEST_PER_PRODUCT, {"event_id": event_pk})).all()
    return [(r.id, r.payload) for r in rows]


# ---------------------------------------------------------------------------------------
# The pull (alerts.delivery.pull, GET /v1/me/alerts): statements sent straight to the
# driver connection (asyncpg, prepared once per connection), no ORM layer in between
# ---------------------------------------------------------------------------------------

# The newest document of each product of every event in force (the event's facts name
# them). The same for everyone: the pull reads it once per ``alerts`` generation.
_PULL_IN_FORCE = """
    SELECT a.id, a.received_at, e.id AS event_id, e.in_force_until, a.is_drill
    FROM alert_events e
    CROSS JOIN LATERAL (
        SELECT (p.value)::bigint AS alert_id FROM jsonb_each_text(COALESCE(e.facts->'products', '{}')) p
        UNION SELECT e.latest_alert_id) ids
    JOIN alerts a ON a.id = ids.alert_id
    WHERE e.state IN ('active', 'updated') AND e.in_force_until > now()
"""
_PULL_PAYLOADS = "SELECT id, payload FROM alerts WHERE id = ANY($1::bigint[])"
_PULL_FACTS = "SELECT id, updated_at, facts FROM alert_events WHERE id = ANY($1::bigint[])"


async def in_force_products_raw(raw: Any) -> list[Any]:
    """(id, received_at, event_id, in_force_until, is_drill) of the newest document of each
    product of every event in force, on a driver connection."""
    return list(await raw.fetch(_PULL_IN_FORCE))


async def payloads_raw(raw: Any, alert_ids: list[int]) -> list[Any]:
    """(id, payload) of these alerts, on a driver connection."""
    return list(await raw.fetch(_PULL_PAYLOADS, alert_ids))


async def facts_raw(raw: Any, event_ids: list[int]) -> list[Any]:
    """(id, updated_at, facts) of these events, on a driver connection."""
    return list(await raw.fetch(_PULL_FACTS, event_ids))
