"""SQL of the delivery domain: deliveries rows, residents' preferences and devices, push rows.

Everything is set-based per chunk (one statement for thousands of residents): a fan-out
of 100,000 residents is a few dozen round trips, not 100,000.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

ALERT = text(
    """
    SELECT a.id, a.event_id, a.msg_type, a.category, a.payload, a.is_drill, a.issued_at, a.expires_at,
           e.state AS event_state, e.facts AS event_facts
    FROM alerts a JOIN alert_events e ON e.id = a.event_id
    WHERE a.id = :id
    """
)


async def load_alert(session: AsyncSession, alert_id: int):
    return (await session.execute(ALERT, {"id": alert_id})).mappings().first()


_RESIDENTS = text("SELECT id, preferences FROM residents WHERE id = ANY(:ids)")
_DEVICES = text(
    """
    SELECT id, resident_id, language FROM devices
    WHERE resident_id = ANY(:ids) AND (push_token IS NOT NULL OR webpush_subscription IS NOT NULL)
    ORDER BY resident_id, id
    """
)
_PRIORS = text(
    """
    SELECT id, resident_id, status, rank, max_rank, last_alert_id, critical, kinds FROM deliveries
    WHERE event_id = :event_id AND resident_id = ANY(:ids)
    ORDER BY resident_id
    FOR UPDATE
    """
)


async def residents_preferences(session: AsyncSession, ids: Sequence[int]) -> dict[int, Any]:
    return {r.id: r.preferences for r in (await session.execute(_RESIDENTS, {"ids": list(ids)})).all()}


async def devices_of(session: AsyncSession, ids: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
    out: dict[int, list[tuple[int, str]]] = {}
    for r in (await session.execute(_DEVICES, {"ids": list(ids)})).all():
        out.setdefault(r.resident_id, []).append((r.id, r.language or "ja"))
    return out


async def priors(session: AsyncSession, event_id: int, ids: Sequence[int]):
    """Existing rows for these residents, locked until the chunk commits."""
    return (await session.execute(_PRIORS, {"event_id": event_id, "ids": list(ids)})).all()


_TOLD_PAGE = text(
    """
    SELECT id, resident_id, status, rank, max_rank, last_alert_id, critical, kinds FROM deliveries
    WHERE event_id = :event_id AND last_alert_id < :alert_id AND id > :after
      AND status IN ('told', 'lowered', 'held')
    ORDER BY id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
    """
)


async def unfinished_page(session: AsyncSession, event_id: int, alert_id: int, after: int, limit: int):
    """Rows of the event not yet touched by this alert whose danger was not ended (keyset page)."""
    return (
        await session.execute(_TOLD_PAGE, {"event_id": event_id, "alert_id": alert_id, "after": after, "limit": limit})
    ).all()


# Upsert: the WHERE keeps an older alert (processed late) from overwriting a newer one,
# and makes a second run of the same alert a no-op (nothing returned, nothing pushed).
_UPSERT = text(
    """
    INSERT INTO deliveries AS d (resident_id, event_id, category, status, rank, max_rank, first_alert_id,
        last_alert_id, place_ids, current_location, critical, held_by_quiet_hours, messages_sent, told_at,
        cleared_at, updated_at, kinds)
    SELECT x.resident_id, :event_id, :category, x.status, x.rank, x.rank, :alert_id, :alert_id,
           COALESCE(string_to_array(NULLIF(x.place_ids, ''), ',')::bigint[], '{}'), x.current_location,
           x.critical, x.held, CASE WHEN x.push THEN 1 ELSE 0 END,
           CASE WHEN x.push THEN now() END, CASE WHEN x.status IN ('cleared','cancelled') THEN now() END, now(),
           COALESCE(string_to_array(NULLIF(x.kinds, ''), ','), '{}')
    FROM unnest(CAST(:residents AS bigint[]), CAST(:statuses AS text[]), CAST(:ranks AS smallint[]),
                CAST(:place_ids AS text[]), CAST(:currents AS boolean[]), CAST(:criticals AS boolean[]),
                CAST(:helds AS boolean[]), CAST(:pushes AS boolean[]), CAST(:kinds AS text[]))
         AS x(resident_id, status, rank, place_ids, current_location, critical, held, push, kinds)
    ON CONFLICT (resident_id, event_id) DO UPDATE SET
        status = EXCLUDED.status,
        rank = EXCLUDED.rank,
        max_rank = GREATEST(d.max_rank, EXCLUDED.rank),
        last_alert_id = EXCLUDED.last_alert_id,
        place_ids = CASE WHEN cardinality(EXCLUDED.place_ids) > 0 THEN EXCLUDED.place_ids ELSE d.place_ids END,
        current_location = EXCLUDED.current_location OR (cardinality(EXCLUDED.place_ids) = 0 AND d.current_location),
        critical = CASE WHEN EXCLUDED.messages_sent > 0 AND EXCLUDED.status = 'told' THEN EXCLUDED.critical ELSE d.critical END,
        held_by_quiet_hours = EXCLUDED.held_by_quiet_hours,
        messages_sent = d.messages_sent + EXCLUDED.messages_sent,
        told_at = COALESCE(EXCLUDED.told_at, d.told_at),
        cleared_at = CASE WHEN EXCLUDED.status IN ('cleared','cancelled') THEN now() ELSE NULL END,
        updated_at = now(),
        kinds = CASE WHEN EXCLUDED.status IN ('cleared','cancelled') THEN '{}'
                     WHEN cardinality(EXCLUDED.place_ids) = 0 THEN d.kinds ELSE EXCLUDED.kinds END
    WHERE d.last_alert_id < EXCLUDED.last_alert_id
    RETURNING d.id, d.resident_id
    """
)


async def upsert_deliveries(session: AsyncSession, *, event_id: int, alert_id: int, category: str, rows: list[dict]) -> dict[int, int]:
    """Write the chunk's rows; returns resident_id → delivery id for the rows this alert changed."""
    if not rows:
        return {}
    params = {
        "event_id": event_id,
        "alert_id": alert_id,
        "category": category,
        "residents": [r["resident_id"] for r in rows],
        "statuses": [r["status"] for r in rows],
        "ranks": [r["rank"] for r in rows],
        "place_ids": [",".join(str(p) for p in r["place_ids"]) for r in rows],
        "currents": [r["current_location"] for r in rows],
        "criticals": [r["critical"] for r in rows],
        "helds": [r["held"] for r in rows],
        "pushes": [r["push"] for r in rows],
        "kinds": [",".join(r.get("kinds") or ()) for r in rows],
    }
    return {r.resident_id: r.id for r in (await session.execute(_UPSERT, params)).all()}


_PUSHES = text(
    """
    INSERT INTO push_messages (message_id, resident_id, device_id, delivery_id, alert_id, title, body, data, critical)
    SELECT x.message_id, x.resident_id, x.device_id, x.delivery_id, :alert_id, x.title, x.body, x.data::jsonb, x.critical
    FROM unnest(CAST(:message_ids AS text[]), CAST(:residents AS bigint[]), CAST(:devices AS bigint[]),
                CAST(:deliveries AS bigint[]), CAST(:titles AS text[]), CAST(:bodies AS text[]),
                CAST(:datas AS text[]), CAST(:criticals AS boolean[]))
         AS x(message_id, resident_id, device_id, delivery_id, title, body, data, critical)
    ON CONFLICT (message_id) DO NOTHING
    RETURNING id
    """
)


async def insert_pushes(session: AsyncSession, alert_id: int, pushes: list[dict]) -> list[int]:
    if not pushes:
        return []
    params = {
        "alert_id": alert_id,
        "message_ids": [p["message_id"] for p in pushes],
        "residents": [p["resident_id"] for p in pushes],
        "devices": [p["device_id"] for p in pushes],
        "deliveries": [p["delivery_id"] for p in pushes],
        "titles": [p["title"] for p in pushes],
        "bodies": [p["body"] for p in pushes],
        "datas": [p["data"] for p in pushes],
        "criticals": [p["critical"] for p in pushes],
    }
    return sorted(r[0] for r in (await session.execute(_PUSHES, params)).all())


_HAS_PLANS = text("SELECT to_regclass('public.evacuation_plans') IS NOT NULL")
_PLANNERS = text("SELECT DISTINCT resident_id FROM evacuation_plans WHERE resident_id = ANY(:ids)")


async def residents_with_plans(session: AsyncSession, ids: Sequence[int]) -> set[int]:
    if not (await session.execute(_HAS_PLANS)).scalar():
        return set()
    return {r[0] for r in (await session.execute(_PLANNERS, {"ids": list(ids)})).all()}


async def mark_fanned_out(session: AsyncSession, alert_id: int) -> None:
    """The alert's fan-out finished: the outbox catch-up stops watching its stream entry."""
    await session.execute(text("UPDATE alerts SET fanned_out_at = now() WHERE id = :id"), {"id": alert_id})


_CITIES = text("SELECT id, jma_city_code FROM places WHERE id = ANY(:ids)")


async def city_codes(session: AsyncSession, place_ids: Sequence[int]) -> dict[int, str | None]:
    if not place_ids:
        return {}
    return {r.id: r.jma_city_code for r in (await session.execute(_CITIES, {"ids": list(set(place_ids))})).all()}
