"""Evacuees' jobs (picked up by ``server.scheduler``): households outside shelters are cleared
when every event they evacuated for has ended; expired entries (not renewed for a day) leave
the table, not only the roster; ended check-ins leave after
``BOUSAI_EVACUEES_CHECKIN_RETENTION_DAYS``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog

from alerts.evacuees import repository as repo
from alerts.evacuees.config import get_evacuees_settings
from server.scheduler import JobContext, ScheduledJob

log = structlog.get_logger()


async def forget_expired_outside(ctx: JobContext) -> None:
    async with ctx.sessionmaker() as s, s.begin():
        n = await repo.delete_expired_outside(s)
    log.info("alerts.evacuees.outside_expired", count=n)


async def clear_outside_after_events(ctx: JobContext) -> int:
    async with ctx.sessionmaker() as s, s.begin():
        n = await repo.delete_outside_whose_events_ended(s)
    if n:
        log.info("alerts.evacuees.outside_cleared", reason="events_ended", count=n)
    return n


async def forget_ended_checkins(ctx: JobContext) -> None:
    cutoff = datetime.now(UTC) - timedelta(days=get_evacuees_settings().checkin_retention_days)
    async with ctx.sessionmaker() as s, s.begin():
        n = await repo.delete_ended_checkins(s, cutoff)
    log.info("alerts.evacuees.checkins_forgotten", count=n)


RETENTION_TASKS = {
    "alerts.evacuees.outside": forget_expired_outside,
    "alerts.evacuees.checkins": forget_ended_checkins,
}

# Every few minutes: an all-clear should take the household off the roster soon after it.
SCHEDULED_JOBS = [ScheduledJob("alerts.evacuees.outside_events_ended", clear_outside_after_events, seconds=300)]
