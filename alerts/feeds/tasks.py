"""Scheduled jobs of the feeds domain (picked up by ``server.scheduler``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog

from alerts.feeds import repository as feeds_repo
from alerts.feeds.poller import FeedPoller
from alerts.feeds.realtime_gap import pull_gap_observer
from server.scheduler import JobContext, ScheduledJob

log = structlog.get_logger()

# JMA's feeds list an entry for days at most; two weeks of memory keeps every entry still
# listed from being fetched again.
ENTRY_RETENTION = timedelta(days=14)


async def poll_feeds(ctx: JobContext) -> None:
    poller = ctx.resources.get("feeds.poller")
    if poller is None:
        # With the real-time source on, what PULL stores first is checked for a socket gap.
        poller = ctx.resources["feeds.poller"] = FeedPoller(ctx.settings, ctx.sessionmaker, ctx.redis,
                                                            observer=pull_gap_observer(ctx.settings, ctx.redis))
    summary = await poller.poll_once()
    log.info("alerts.feed.poll_done", **{k: v for k, v in summary.as_dict().items() if k != "errors"},
             errors=summary.errors[:10])


async def forget_old_entries(ctx: JobContext) -> None:
    async with ctx.sessionmaker() as s, s.begin():
        count = await feeds_repo.forget_entries(s, datetime.now(UTC) - ENTRY_RETENTION)
    log.info("alerts.feed.entries_forgotten", count=count)


SCHEDULED_JOBS = [ScheduledJob("alerts.feeds.poll", poll_feeds, seconds=lambda s: s.feed_poll_seconds)]
RETENTION_TASKS = {"alerts.feeds.entries": forget_old_entries}
