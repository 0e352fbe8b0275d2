"""Scheduled jobs of the places domain (picked up by ``server.scheduler``)."""

from __future__ import annotations

import structlog

from my_evacuation.places import repository as repo
from server.scheduler import JobContext, ScheduledJob

log = structlog.get_logger()

# A current location past its retention is personal data we promised to drop: purge every
# 15 minutes and at every scheduler start (the hourly retention job never runs at start, so
# a scheduler restarted more often than hourly never purged at all).
PURGE_LOCATIONS_SECONDS = 900.0


async def purge_expired_locations(ctx: JobContext) -> None:
    """Current locations are kept only settings.location_retention_hours; targeting already
    ignores expired ones, this deletes them for good."""
    async with ctx.sessionmaker() as s, s.begin():
        n = await repo.purge_expired_locations(s)
    log.info("my_evacuation.places.locations_purged", count=n)


SCHEDULED_JOBS = [
    ScheduledJob("my_evacuation.places.current_locations", purge_expired_locations, PURGE_LOCATIONS_SECONDS, run_at_start=True),
]
