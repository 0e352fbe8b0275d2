"""Delivery across domains: after an alert's pushes have left, the residents it told are
offered My Evacuation's safety checks ("are you safe?"), which decide who and are
idempotent. Run by the ``alerts:safety`` stream handler (``alerts.delivery.tasks``), apart
from the fan-out so it never delays a push.
"""

from __future__ import annotations

import asyncio

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.delivery import repository as repo
from alerts.events import outbox_repository as outbox_repo
from my_evacuation.push import repository as push_repo
from my_evacuation.safety.service import start_checks_for_alert

log = structlog.get_logger()

# "Are you safe?" comes after the alert itself: the checks (and their pushes) wait until
# the alert's own pushes have left, so they never compete with them for the workers, the
# database and the provider quota. Bounded, so a stuck provider cannot hold checks back long.
SAFETY_AFTER_PUSHES_MAX_WAIT_S = 45.0  # under the 60 s stream claim idle: no second worker steps in


async def _alert_pushes_out(sessionmaker: async_sessionmaker[AsyncSession], alert_id: int) -> None:
    deadline = asyncio.get_running_loop().time() + SAFETY_AFTER_PUSHES_MAX_WAIT_S
    while asyncio.get_running_loop().time() < deadline:
        async with sessionmaker() as session:
            if not await push_repo.any_queued_for_alert(session, alert_id):
                return
        await asyncio.sleep(0.5)
    log.warning("alerts.delivery.safety_checks_start_before_pushes_done", alert_id=alert_id)


async def start_safety_checks(sessionmaker: async_sessionmaker[AsyncSession], alert_id: int, *, page: int = 5000) -> int:
    """Offer the residents this alert told to My Evacuation's safety checks (it decides who, idempotently)."""
    async with sessionmaker() as session:
        row = await outbox_repo.alert_to_fan_out(session, alert_id)
    if row is None:
        return 0
    payload = row["payload"] if isinstance(row["payload"], dict) else orjson.loads(row["payload"])
    await _alert_pushes_out(sessionmaker, alert_id)
    after, started = 0, 0
    while True:
        async with sessionmaker() as session, session.begin():
            rows = await repo.told_by(session, row["event_id"], alert_id, after=after, limit=page)
            if not rows:
                return started
            after = rows[-1].id
            # What the fan-out matched for each (its deliveries' place_ids and current_location):
            # My Evacuation counts those places only, without reading deliveries itself.
            fanout = {r.resident_id: (r.place_ids, r.current_location) for r in rows}
            started += await start_checks_for_alert(session, alert_id, [r.resident_id for r in rows], payload,
                                                    fanout=fanout)
