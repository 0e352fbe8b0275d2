"""SQL over ``deliveries`` (what each resident was told of each event). Never commits.

The fan-out's statements are set-based per chunk (one statement for thousands of
residents): a fan-out of 100,000 residents is a few dozen round trips, not 100,000. What
the fan-out reads or writes of other packages' tables (residents and their devices,
places, plans, push messages, the alert itself) it asks of their owners' repositories,
one statement per chunk each as well.

Below the fan-out's statements, the reads of ``deliveries`` for the modules beside it (the
safety-check flow, the preview) and for other alerts packages (latency, evacuees, reports).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_PRIORS = text(
    """
    SELECT id, resident_id, status, rank, max_rank, last_alert_id, critical, kinds FROM deliveries
    WHERE event_id = :event_id AND resident_id = ANY(:ids)
    ORDER BY resident_id
    FOR UPDATE
    """
)
_PRIORS_UNLOCKED = text(
    """
    SELECT id, resident_id, status, rank, max_rank, last_alert_id, critical, kinds FROM deliveries
    WHERE event_id = :event_id AND resident_id = ANY(:ids)
    """
)


async def priors(session: AsyncSession, event_id: int, ids: Sequence[int], *, lock: bool = True) -> list[Any]:
    """The current rows of these residents for the event; locked until the chunk commits
    (``lock=False``: only read, as the preview does)."""
    return list((await session.execute(_PRIORS if lock else _PRIORS_UNLOCKED, {"event_id": event_id, "ids": list(ids)})).all())


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


# ---------------------------------------------------------------------------------------
# Reads beside the fan-out: the safety-check flow, the preview, latency, evacuees, reports
# ---------------------------------------------------------------------------------------

_TOLD_BY = text(
    """
    SELECT id, resident_id, place_ids, current_location FROM deliveries
    WHERE event_id = :event_id AND last_alert_id = :alert_id AND status = 'told' AND id > :after
    ORDER BY id LIMIT :limit
    """
)

async def told_by(session: AsyncSession, event_id: int, alert_id: int, *, after: int, limit: int) -> list[Any]:
    """A page (by id, after ``after``) of the deliveries this alert left told: (id, resident_id,
    place_ids, current_location — what the fan-out matched)."""
    return list(
        (await session.execute(_TOLD_BY, {"event_id": event_id, "alert_id": alert_id, "after": after, "limit": limit})).all()
    )


_ALERT_PUSH_STATS = text(
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
           min(pm.lane) AS lane
    FROM deliveries d JOIN alert_push_rows pm ON pm.delivery_id = d.id
    WHERE d.event_id = :event_id AND pm.alert_id = :alert_id
    """
)


async def alert_push_stats(session: AsyncSession, alert_id: int, event_id: int) -> Any:
    """Counts and send times of one alert's pushes, found through its event's deliveries (both
    indexed, one statement; the pushes through the view my_evacuation.push defines), never by
    scanning every push row."""
    return (await session.execute(_ALERT_PUSH_STATS, {"event_id": event_id, "alert_id": alert_id})).first()


async def told_event_ids(session: AsyncSession, resident_id: int) -> list[int]:
    """The events the resident was told of (or had held by quiet hours)."""
    rows = await session.execute(
        text("SELECT DISTINCT event_id FROM deliveries WHERE resident_id = :r AND status IN ('told', 'held') ORDER BY 1"),
        {"r": resident_id},
    )
    return list(rows.scalars())


async def count_held(session: AsyncSession, event_id: int, alert_id: int, resident_ids: Sequence[int] | None) -> int:
    """Residents (of ``resident_ids``; None: all) whose delivery of the event this alert left held."""
    return (await session.execute(
        text("""SELECT count(*) FROM deliveries d WHERE d.event_id = :e AND d.last_alert_id = :a AND d.status = 'held'
                AND (CAST(:ids AS bigint[]) IS NULL OR d.resident_id = ANY(CAST(:ids AS bigint[])))"""),
        {"e": event_id, "a": alert_id, "ids": None if resident_ids is None else list(resident_ids)})).scalar_one()


async def event_ids_of_residents(session: AsyncSession, resident_ids: Sequence[int]) -> list[int]:
    """The events any of these residents has a delivery of."""
    if not resident_ids:
        return []
    rows = await session.execute(
        text("SELECT DISTINCT event_id FROM deliveries WHERE resident_id = ANY(CAST(:ids AS bigint[]))"),
        {"ids": list(resident_ids)},
    )
    return list(rows.scalars())


async def residents_told_in_force(session: AsyncSession, resident_id: int | None = None) -> list[int]:
    """The residents (only this one, unless None) told of an event still in force (or who had it
    held by quiet hours) whose latest alert is not a drill; the events read through the views
    alerts.events defines (alert_event_states, alert_headers)."""
    rows = await session.execute(
        text(
            """SELECT DISTINCT d.resident_id FROM deliveries d
               JOIN alert_event_states e ON e.id = d.event_id AND e.state IN ('active', 'updated') AND e.in_force_until > now()
               JOIN alert_headers a ON a.id = e.latest_alert_id AND NOT a.is_drill
               WHERE d.status IN ('told', 'held') AND (CAST(:resident AS bigint) IS NULL OR d.resident_id = :resident)"""
        ),
        {"resident": resident_id},
    )
    return list(rows.scalars())
