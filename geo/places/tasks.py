"""Scheduled jobs of the places domain (picked up by ``server.scheduler``)."""

from __future__ import annotations

import structlog

from geo.places import repository as repo
from server.scheduler import JobContext

log = structlog.get_logger()


async def purge_expired_locations(ctx: JobContext) -> None:
    """Current locations are kept only settings.location_retention_hours; targeting already
    ignores expired ones, this deletes them for good."""
    async with ctx.sessionmaker() as s, s.begin():
        n = await repo.purge_expired_locations(s)
    log.info("geo.places.locations_purged", count=n)


RETENTION_TASKS = {"geo.places.current_locations": purge_expired_locations}
