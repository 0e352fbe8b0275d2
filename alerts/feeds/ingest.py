"""A fetched document's alerts → stored (``alerts.events.service.ingest``) → on the stream.

The one ingest path every JMA source takes: the PULL poller and the real-time socket hand
a document's parsed alerts here, so both store them the same way — each alert in a
savepoint of one transaction (a bad alert never loses the others), the outbox row with it,
and the outbox relayed right after the commit. Idempotent by (source, source_id): the same
document from two sources is stored once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.events.outbox import relay_outbox
from alerts.events.service import InvalidAlert, ingest


@dataclass
class StoredAlerts:
    created: list[int] = field(default_factory=list)  # alert ids new with this document
    alert_ids: list[int] = field(default_factory=list)  # every alert id of the document, new or not
    invalid: list[str] = field(default_factory=list)

    @property
    def all_invalid(self) -> bool:
        return bool(self.invalid) and not self.alert_ids


async def ingest_alerts(session: AsyncSession, alerts: list) -> StoredAlerts:
    """Ingest each alert in a savepoint of the caller's transaction. Never commits."""
    out = StoredAlerts()
    for alert in alerts:
        try:
            async with session.begin_nested():
                result = await ingest(session, alert)
        except InvalidAlert as exc:
            out.invalid.append(str(exc))
            continue
        out.alert_ids.append(result.alert_id)
        if result.created:
            out.created.append(result.alert_id)
    return out


async def store_document(sessionmaker: async_sessionmaker[AsyncSession], redis: aioredis.Redis,
                         alerts: list) -> StoredAlerts:
    """One document's alerts in one transaction, then the outbox relayed if any is new."""
    async with sessionmaker() as s, s.begin():
        stored = await ingest_alerts(s, alerts)
    if stored.created:
        await relay_outbox(sessionmaker, redis)
    return stored
