"""Evacuees' retention (picked up by ``server.scheduler``): households outside shelters whose
entry expired (not renewed for a day) leave the table, not only the roster."""

from __future__ import annotations

import structlog

from my_evacuation.evacuees import repository as repo
from server.scheduler import JobContext

log = structlog.get_logger()


async def forget_expired_outside(ctx: JobContext) -> None:
    async with ctx.sessionmaker() as s, s.begin():
        n = await repo.delete_expired_outside(s)
    log.info("my_evacuation.evacuees.outside_expired", count=n)


RETENTION_TASKS = {"my_evacuation.evacuees.outside": forget_expired_outside}
