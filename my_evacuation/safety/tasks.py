"""Scheduled safety-check reminders (scheduler process; see server/scheduler.py)."""

from __future__ import annotations

from server.db import unit_of_work
from server.scheduler import JobContext, ScheduledJob

from my_evacuation.config import get_config
from my_evacuation.safety.service import send_due_reminders


async def remind_unanswered(ctx: JobContext) -> int:
    total = 0
    while True:  # drain everything due, one committed batch at a time
        async with unit_of_work(ctx.sessionmaker) as session:
            n = await send_due_reminders(session)
        total += n
        if n == 0:
            return total


SCHEDULED_JOBS = [
    ScheduledJob("my_evacuation.safety_reminders", remind_unanswered, lambda s: get_config().reminder_job_seconds),
]
