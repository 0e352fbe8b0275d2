"""The log provider: records what would be sent in ``push_log`` and reports ok.

The default for ``make run`` and for any deployment without push credentials, so the
whole alert path runs end to end and a developer can see (``SELECT * FROM push_log``)
exactly which messages went to which device. It writes in its own short transaction: like
a real provider, a send is an effect outside the caller's unit of work.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from my_evacuation.push import repository as push_repo
from server.db import unit_of_work
from my_evacuation.push.providers.base import PushMessage, PushResult, Status, check_batch


class LogProvider:
    name = "log"

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]):
        self._sessionmaker = sessionmaker

    async def send(self, batch: list[PushMessage]) -> list[PushResult]:
        check_batch(batch)
        if not batch:
            return []
        rows = [
            {
                "message_id": m.message_id,
                "device_id": m.device_id,
                "token": m.token,
                "kind": m.kind,
                "title": m.title,
                "body": m.body,
                "data": m.payload_data(),
                "critical": m.critical,
                "collapse_key": m.collapse_key,
                "ttl_seconds": m.ttl_seconds,
                "language": m.language,
            }
            for m in batch
        ]
        async with unit_of_work(self._sessionmaker) as session:
            await push_repo.record_log(session, rows)
        return [PushResult(m.message_id, Status.OK, provider_message_id=f"log:{m.message_id}") for m in batch]

    async def aclose(self) -> None:
        return None


async def forget_devices(session: AsyncSession, device_ids: list[int]) -> int:
    """Delete what the log recorded for these devices (their push tokens and message bodies):
    a resident's erasure removes everything that names them or their devices."""
    if not device_ids:
        return 0
    return await push_repo.forget_logged_devices(session, device_ids)
