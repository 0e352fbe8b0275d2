"""Enqueue non-alert pushes to residents: ``enqueue_notification``.

The ``notifications`` row is the durable record of the message (the one outbox of the
service is ``alert_outbox``, for alerts): it is written in the caller's transaction
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
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.lanes import BULK
from my_evacuation.push import repository as push_repo
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
    created = await push_repo.insert_notifications(
        session,
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
    if created:
        await push_repo.notify_channel(session, NOTIFY_CHANNEL)
    log.info("my_evacuation.push.notifications.enqueued", kind=kind, dedupe_key=dedupe_key, created=created, offered=len(items))
    return created





async def relay_notifications(sessionmaker: async_sessionmaker[AsyncSession], redis: aioredis.Redis) -> int:
    """Turn unqueued notifications into push messages and publish their jobs; returns rows relayed.

    Safe to run in every worker at once (SKIP LOCKED). If publishing fails after the
    commit, the push messages stay queued and the push catch-up publishes them later.
    """
    total = 0
    while True:
        async with sessionmaker() as session, session.begin():
            ids = await push_repo.claim_unqueued_notifications(session, RELAY_BATCH)
            if not ids:
                return total
            push_ids = await push_repo.fan_out_notifications(session, ids)
            await push_repo.mark_notifications_queued(session, ids)
        total += len(ids)
        # Family statuses, safety prompts, shelter notices, tips, plan reviews: none is a
        # hazard, so all go in the bulk lane (server.lanes), behind every alert push.
        await publish_push_jobs(redis, push_ids, lane=BULK)
        log.info("my_evacuation.push.notifications.relayed", notifications=len(ids), pushes=len(push_ids))
        if len(ids) < RELAY_BATCH:
            return total
