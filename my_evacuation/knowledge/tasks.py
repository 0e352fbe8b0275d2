"""Scheduled knowledge jobs (scheduler process): tips, rainy-season and shelter-change reminders."""

from __future__ import annotations

from datetime import UTC, datetime

from server.db import unit_of_work
from server.scheduler import JobContext, ScheduledJob

from my_evacuation.config import get_config
from my_evacuation.knowledge.service import check_shelter_changes, send_rainy_season_reminders, send_tips


async def knowledge_job(ctx: JobContext) -> None:
    now = datetime.now(UTC)
    while True:
        async with unit_of_work(ctx.sessionmaker) as session:
            n = await send_tips(session, now)
        if n == 0:
            break
    async with unit_of_work(ctx.sessionmaker) as session:
        await send_rainy_season_reminders(session, now)
    async with unit_of_work(ctx.sessionmaker) as session:
        await check_shelter_changes(session, now)


SCHEDULED_JOBS = [
    ScheduledJob("my_evacuation.knowledge", knowledge_job, lambda s: get_config().knowledge_job_seconds, run_at_start=False),
]
