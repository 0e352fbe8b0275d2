"""Enqueue non-alert pushes to residents: ``enqueue_notification``.

The ``notifications`` row is its own outbox: it is written in the caller's transaction
(services never commit) together with a ``pg_notify`` that PostgreSQL delivers only when
that transaction commits, so a rolled-back caller sends nothing and a committed one wakes
a worker at once. The worker (``relay_notifications``) turns each row into one
``push_messages`` row per device of the resident and publishes the push jobs; a periodic
scan picks up anything a missed wake-up left behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson
import redis.asyncio as aioredis
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.lanes import BULK
from my_evacuation.push.jobs import publish_push_jobs

log = structlog.get_logger()

# LISTEN channel the worker wakes on; the payload is unused.
NOTIFY_CHANNEL = "bousai_notifications"
# Rows per relay transaction: one multi-row insert of push messages stays small.
RELAY_BATCH = 500


@dataclass(frozen=True)
class NotificationItem:
    resident_id: int
    title: str
    body: str
    data: dict[str, str] = field(default_factory=dict)
    critical: bool = False


_INSERT = text(
    """
    INSERT INTO notifications (resident_id, kind, dedupe_key, title, body, data, critical)
    SELECT r, :kind, :dedupe_key, t, b, d::jsonb, c
    FROM unnest(CAST(:residents AS bigint[]), CAST(:titles AS text[]), CAST(:bodies AS text[]),
                CAST(:datas AS text[]), CAST(:criticals AS boolean[])) AS x(r, t, b, d, c)
    ON CONFLICT (resident_id, dedupe_key) DO NOTHING
    RETURNING id
    """
)


async def enqueue_notification(
    session: AsyncSession, items: list[NotificationItem], *, kind: str, dedupe_key: str
) -> int:
    """Queue one push per item (to every device of its resident); returns how many were new.

    ``dedupe_key`` makes a repeat harmless: a (resident, dedupe_key) already queued is
    skipped. Nothing is sent before the caller's transaction commits.
    """
    if not items:
        return 0
    if not kind or not dedupe_key:
        raise ValueError("kind and dedupe_key are required")
    # One item per resident: the first wins, like a repeat would.
    seen: dict[int, NotificationItem] = {}
    for it in items:
        seen.setdefault(int(it.resident_id), it)
    uniq = list(seen.values())
    rows = await session.execute(
        _INSERT,
        {
            "kind": kind,
            "dedupe_key": dedupe_key,
            "residents": [it.resident_id for it in uniq],
            "titles": [it.title for it in uniq],
            "bodies": [it.body for it in uniq],
            "datas": [orjson.dumps({str(k): str(v) for k, v in it.data.items()}).decode() for it in uniq],
            "criticals": [bool(it.critical) for it in uniq],
        },
    )
    created = len(rows.all())
    if created:
        await session.execute(text("SELECT pg_notify(:ch, '')"), {"ch": NOTIFY_CHANNEL})
    log.info("my_evacuation.push.notifications.enqueued", kind=kind, dedupe_key=dedupe_key, created=created, offered=len(items))
    return created


_CLAIM = text(
    """
    SELECT id FROM notifications
    WHERE queued_at IS NULL
    ORDER BY id
    LIMIT :batch
    FOR UPDATE SKIP LOCKED
    """
)

# One push message per device that can receive pushes; devices without a token get none.
_FAN_OUT = text(
    """
    INSERT INTO push_messages (message_id, resident_id, device_id, notification_id, title, body, data, critical)
    SELECT 'n' || n.id || '-d' || d.id, n.resident_id, d.id, n.id, n.title, n.body,
           n.data || jsonb_build_object('notification_id', n.id::text, 'kind', n.kind, 'lane', 'bulk'), n.critical
    FROM notifications n
    JOIN devices d ON d.resident_id = n.resident_id
    WHERE n.id = ANY(:ids) AND (d.push_token IS NOT NULL OR d.webpush_subscription IS NOT NULL)
    ON CONFLICT (message_id) DO NOTHING
    RETURNING id
    """
)
_MARK = text("UPDATE notifications SET queued_at = now() WHERE id = ANY(:ids)")


async def relay_notifications(sessionmaker: async_sessionmaker[AsyncSession], redis: aioredis.Redis) -> int:
    """Turn unqueued notifications into push messages and publish their jobs; returns rows relayed.

    Safe to run in every worker at once (SKIP LOCKED). If publishing fails after the
    commit, the push messages stay queued and the push catch-up publishes them later.
    """
    total = 0
    while True:
        async with sessionmaker() as session, session.begin():
            ids = [r[0] for r in (await session.execute(_CLAIM, {"batch": RELAY_BATCH})).all()]
            if not ids:
                return total
            push_ids = [r[0] for r in (await session.execute(_FAN_OUT, {"ids": ids})).all()]
            await session.execute(_MARK, {"ids": ids})
        total += len(ids)
        # Family statuses, safety prompts, shelter notices, tips, plan reviews: none is a
        # hazard, so all go in the bulk lane (server.lanes), behind every alert push.
        await publish_push_jobs(redis, push_ids, lane=BULK)
        log.info("my_evacuation.push.notifications.relayed", notifications=len(ids), pushes=len(push_ids))
        if len(ids) < RELAY_BATCH:
            return total
