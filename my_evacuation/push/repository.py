"""Push SQL: push messages, notifications and the log provider's record. No commits here.

``devices`` belongs to my_evacuation.residents: the sending and fan-out statements read it
through the ``device_push_addresses`` view it defines (one statement each, as before), and
clearing dead tokens is :func:`my_evacuation.residents.repository.clear_dead_push_tokens`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, cast

import orjson
from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from my_evacuation.push.models import PushLogEntry
from server.db import driver_in_transaction

# ---------------------------------------------------------------------------------------
# Sending (my_evacuation.push.jobs)
# ---------------------------------------------------------------------------------------

# Run on the session's driver connection (in its transaction, so the locks are the job's):
# asyncpg records instead of ORM rows, and the JSON columns as text for orjson — on the
# sending path that is a few microseconds of CPU per push (issue 13: 100,000 per fan-out).
_CLAIM = """
    SELECT pm.id, pm.message_id, pm.device_id, pm.notification_id, pm.title, pm.body, pm.data::text,
           pm.critical, pm.attempts, d.platform, d.push_kind, d.push_token, d.webpush_subscription::text,
           -- A newer product of the same event already reached this device (another lane or
           -- worker was faster): sending this one now would replace it on the phone.
           (pm.delivery_id IS NOT NULL AND EXISTS (
               SELECT 1 FROM push_messages n
               WHERE n.delivery_id = pm.delivery_id AND n.device_id = pm.device_id
                 AND n.alert_id > pm.alert_id AND n.status = 'ok'
           )) AS superseded
    FROM push_messages pm JOIN device_push_addresses d ON d.id = pm.device_id
    WHERE pm.id = ANY($1::bigint[]) AND pm.status = 'queued'
    ORDER BY pm.id
    FOR UPDATE OF pm SKIP LOCKED
"""


class Claimed(NamedTuple):
    """A locked push job row with its device's push address."""

    id: int
    message_id: str
    device_id: int
    notification_id: int | None
    title: str
    body: str
    data: dict[str, Any]
    critical: bool
    attempts: int
    platform: str
    push_kind: str | None
    push_token: str | None
    webpush_subscription: dict[str, Any] | None
    superseded: bool


_RECORD = text(
    """
    UPDATE push_messages pm
    SET status = x.status, error_code = x.error_code, attempts = pm.attempts + 1,
        sent_at = CASE WHEN x.status = 'ok' THEN clock_timestamp() ELSE pm.sent_at END
    FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS text[]), CAST(:codes AS text[]))
         AS x(id, status, error_code)
    WHERE pm.id = x.id
    """
)

_NOTIFICATIONS_SENT = text(
    "UPDATE notifications SET sent_at = now() WHERE id = ANY(:ids) AND sent_at IS NULL"
)

_STALE = text(
    """
    UPDATE push_messages SET published_at = now()
    WHERE id IN (
        SELECT id FROM push_messages
        WHERE status = 'queued' AND published_at < now() - make_interval(secs => :stale)
        ORDER BY id LIMIT :batch
        FOR UPDATE SKIP LOCKED
    )
    RETURNING id, data->>'lane' AS lane
    """
)

# ---------------------------------------------------------------------------------------
# Notifications (my_evacuation.push.notifications)
# ---------------------------------------------------------------------------------------

_N_INSERT = text(
    """
    INSERT INTO notifications (resident_id, kind, dedupe_key, title, body, data, critical)
    SELECT r, :kind, :dedupe_key, t, b, d::jsonb, c
    FROM unnest(CAST(:residents AS bigint[]), CAST(:titles AS text[]), CAST(:bodies AS text[]),
                CAST(:datas AS text[]), CAST(:criticals AS boolean[])) AS x(r, t, b, d, c)
    ON CONFLICT (resident_id, dedupe_key) DO NOTHING
    RETURNING id
    """
)

_N_CLAIM = text(
    """
    SELECT id FROM notifications
    WHERE queued_at IS NULL
    ORDER BY id
    LIMIT :batch
    FOR UPDATE SKIP LOCKED
    """
)

# One push message per device that can receive pushes; devices without a token get none.
_N_FAN_OUT = text(
    """
    INSERT INTO push_messages (message_id, resident_id, device_id, notification_id, title, body, data, critical)
    SELECT 'n' || n.id || '-d' || d.id, n.resident_id, d.id, n.id, n.title, n.body,
           n.data || jsonb_build_object('notification_id', n.id::text, 'kind', n.kind, 'lane', 'bulk'), n.critical
    FROM notifications n
    JOIN device_push_addresses d ON d.resident_id = n.resident_id
    WHERE n.id = ANY(:ids) AND (d.push_token IS NOT NULL OR d.webpush_subscription IS NOT NULL)
    ON CONFLICT (message_id) DO NOTHING
    RETURNING id
    """
)

_N_MARK = text("UPDATE notifications SET queued_at = now() WHERE id = ANY(:ids)")


async def claim_queued(session: AsyncSession, ids: Sequence[int]) -> list[Claimed]:
    """Lock the rows of a job still queued, with their device's push address (locked until
    the session's transaction ends: the claim starts it)."""
    raw = await driver_in_transaction(await session.connection())
    loads = orjson.loads
    return [
        Claimed(r[0], r[1], r[2], r[3], r[4], r[5], loads(r[6]) if r[6] is not None else {}, r[7], r[8], r[9], r[10],
                r[11], loads(r[12]) if r[12] is not None else None, r[13])
        for r in await raw.fetch(_CLAIM, list(ids))
    ]


async def record_results(session: AsyncSession, ids: Sequence[int], statuses: Sequence[str], codes: Sequence[str | None]) -> None:
    await session.execute(_RECORD, {"ids": list(ids), "statuses": list(statuses), "codes": list(codes)})


async def mark_notifications_sent(session: AsyncSession, ids: Sequence[int]) -> None:
    await session.execute(_NOTIFICATIONS_SENT, {"ids": list(ids)})


async def republish_stale(session: AsyncSession, stale_seconds: float, batch: int) -> list[Any]:
    """Mark queued rows published longer than ``stale_seconds`` ago as published now: (id, lane)."""
    return list((await session.execute(_STALE, {"stale": stale_seconds, "batch": batch})).all())


async def insert_notifications(session: AsyncSession, params: dict[str, Any]) -> int:
    """The notification rows (see ``_N_INSERT`` for the parameters); how many were new."""
    return len((await session.execute(_N_INSERT, params)).all())


async def notify_channel(session: AsyncSession, channel: str) -> None:
    """``pg_notify`` that PostgreSQL delivers when the caller's transaction commits."""
    await session.execute(text("SELECT pg_notify(:ch, '')"), {"ch": channel})


async def claim_unqueued_notifications(session: AsyncSession, batch: int) -> list[int]:
    return [r[0] for r in (await session.execute(_N_CLAIM, {"batch": batch})).all()]


async def fan_out_notifications(session: AsyncSession, ids: list[int]) -> list[int]:
    """One push message per device of each notification's resident; the new rows' ids."""
    return [r[0] for r in (await session.execute(_N_FAN_OUT, {"ids": ids})).all()]


async def mark_notifications_queued(session: AsyncSession, ids: list[int]) -> None:
    await session.execute(_N_MARK, {"ids": ids})


# ---------------------------------------------------------------------------------------
# The log provider's record (my_evacuation.push.providers.log, my_evacuation.push.cli)
# ---------------------------------------------------------------------------------------


async def record_log(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    stmt = insert(PushLogEntry).values(rows).on_conflict_do_nothing(index_elements=["message_id"])
    await session.execute(stmt)


async def forget_logged_devices(session: AsyncSession, device_ids: list[int]) -> int:
    result = await session.execute(
        delete(PushLogEntry).where(PushLogEntry.device_id.in_([str(d) for d in device_ids]))
    )
    return cast(CursorResult, result).rowcount or 0


def _log_query(device: str | None, kind: str | None):
    q = select(PushLogEntry)
    if device:
        q = q.where(PushLogEntry.device_id == device)
    if kind:
        q = q.where(PushLogEntry.kind == kind)
    return q


def newest_logged_sync(conn: Connection, device: str | None, kind: str | None, lines: int) -> list[PushLogEntry]:
    """The newest ``lines`` recorded pushes, oldest first."""
    newest = conn.execute(_log_query(device, kind).order_by(PushLogEntry.id.desc()).limit(lines)).all()
    return [PushLogEntry(**row._mapping) for row in reversed(newest)]


def last_logged_id_sync(conn: Connection) -> int:
    return conn.execute(select(PushLogEntry.id).order_by(PushLogEntry.id.desc()).limit(1)).scalar() or 0


def logged_after_sync(conn: Connection, device: str | None, kind: str | None, last_id: int, limit: int) -> list[PushLogEntry]:
    page = conn.execute(
        _log_query(device, kind).where(PushLogEntry.id > last_id).order_by(PushLogEntry.id).limit(limit)
    ).all()
    return [PushLogEntry(**row._mapping) for row in page]


# ---------------------------------------------------------------------------------------
# Reads for the alerts side (alerts.delivery.flows, alerts.latency)
# ---------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------
# An alert's pushes (the fan-out of alerts.delivery): one statement per chunk
# ---------------------------------------------------------------------------------------

_ALERT_PUSHES = text(
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


async def insert_alert_pushes(
    session: AsyncSession,
    alert_id: int,
    *,
    message_ids: Sequence[str],
    resident_ids: Sequence[int],
    device_ids: Sequence[int],
    delivery_ids: Sequence[int],
    titles: Sequence[str],
    bodies: Sequence[str],
    datas: Sequence[str],
    criticals: Sequence[bool],
) -> list[int]:
    """Queue an alert's pushes (parallel arrays, one entry per push; ``datas`` JSON text), one
    statement. A message id already queued is skipped (a re-run pushes nothing twice); returns
    the new rows' ids, ascending."""
    if not message_ids:
        return []
    params = {
        "alert_id": alert_id,
        "message_ids": list(message_ids),
        "residents": list(resident_ids),
        "devices": list(device_ids),
        "deliveries": list(delivery_ids),
        "titles": list(titles),
        "bodies": list(bodies),
        "datas": list(datas),
        "criticals": list(criticals),
    }
    return sorted(r[0] for r in (await session.execute(_ALERT_PUSHES, params)).all())


_QUEUED_FOR_ALERT = text("SELECT EXISTS (SELECT 1 FROM push_messages WHERE alert_id = :a AND status = 'queued')")


async def any_queued_for_alert(session: AsyncSession, alert_id: int) -> bool:
    """Whether a push of this alert still waits to be sent (the partial index on queued rows)."""
    return bool((await session.execute(_QUEUED_FOR_ALERT, {"a": alert_id})).scalar())


# ---------------------------------------------------------------------------------------
# Reads for my_evacuation's reminders (my_evacuation.knowledge.service)
# ---------------------------------------------------------------------------------------


async def without_notification(session: AsyncSession, resident_ids: Sequence[int], dedupe_key: str) -> list[int]:
    """Those of ``resident_ids`` (in order) not yet queued a notification with this dedupe key."""
    if not resident_ids:
        return []
    rows = await session.execute(
        text("SELECT resident_id FROM notifications WHERE resident_id = ANY(CAST(:ids AS bigint[])) AND dedupe_key = :key"),
        {"ids": list(resident_ids), "key": dedupe_key},
    )
    done = {r[0] for r in rows}
    return [r for r in resident_ids if r not in done]


_IN_RESIDENTS = "(CAST(:ids AS bigint[]) IS NULL OR pm.resident_id = ANY(CAST(:ids AS bigint[])))"


async def alert_push_summary(session: AsyncSession, alert_id: int, resident_ids: Sequence[int] | None) -> dict[str, Any]:
    """residents_pushed, first_push_at, last_push_at of an alert's pushes (to ``resident_ids``; None: all)."""
    row = (await session.execute(text(
        f"""SELECT count(DISTINCT pm.resident_id) AS residents_pushed,
                   min(pm.sent_at) FILTER (WHERE pm.status = 'ok') AS first_push_at,
                   max(pm.sent_at) FILTER (WHERE pm.status = 'ok') AS last_push_at
            FROM push_messages pm WHERE pm.alert_id = :id AND {_IN_RESIDENTS}"""),
        {"id": alert_id, "ids": None if resident_ids is None else list(resident_ids)})).one()
    return dict(row._mapping)


async def alert_pushes_by_provider(session: AsyncSession, alert_id: int, resident_ids: Sequence[int] | None) -> list[dict]:
    """(provider, status, n) of an alert's pushes (to ``resident_ids``; None: all); the provider
    through the device_push_addresses view my_evacuation.residents defines ('none': device gone)."""
    rows = await session.execute(text(
        f"""SELECT COALESCE(dv.push_kind, 'none') AS provider, pm.status, count(*) AS n
            FROM push_messages pm LEFT JOIN device_push_addresses dv ON dv.id = pm.device_id
            WHERE pm.alert_id = :id AND {_IN_RESIDENTS}
            GROUP BY 1, 2 ORDER BY 1, 2"""),
        {"id": alert_id, "ids": None if resident_ids is None else list(resident_ids)})
    return [dict(r._mapping) for r in rows]
