"""Scheduled jobs of the alert-events domain (picked up by ``server.scheduler``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog

from alerts.events import repository as repo
from alerts.events.outbox import relay_outbox, rerelay_lost_entries
from server.scheduler import JobContext, ScheduledJob

log = structlog.get_logger()

# The relay also runs right after each ingest; this catch-up bounds the delay after a
# crash or a Redis outage to a few seconds.
RELAY_CATCH_UP_SECONDS = 5.0
# Relayed outbox rows are only needed to investigate a recent incident.
OUTBOX_RETENTION = timedelta(days=7)


async def relay_catch_up(ctx: JobContext) -> None:
    relayed = await relay_outbox(ctx.sessionmaker, ctx.redis)
    if relayed:
        log.info("alerts.outbox.catch_up", relayed=relayed)
    await rerelay_lost_entries(ctx.sessionmaker, ctx.redis)


async def forget_relayed_outbox(ctx: JobContext) -> None:
    async with ctx.sessionmaker() as s, s.begin():
        n = await repo.delete_relayed_outbox(s, datetime.now(UTC) - OUTBOX_RETENTION)
    log.info("alerts.outbox.rows_forgotten", count=n)


SCHEDULED_JOBS = [ScheduledJob("alerts.outbox.relay", relay_catch_up, seconds=RELAY_CATCH_UP_SECONDS)]
RETENTION_TASKS = {"alerts.outbox": forget_relayed_outbox}
