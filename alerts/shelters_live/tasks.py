"""Stream consumer of shelters live (picked up by ``server.worker``): every stored alert
(``alerts:new``, its own consumer group beside delivery's) → CAP shelter messages open or
close the registry's shelters (``cap_in.apply_alert``)."""

from __future__ import annotations

from alerts.events.outbox import ALERTS_STREAM
from alerts.shelters_live.cap_in import apply_alert
from server.db import unit_of_work
from server.streams import StreamMessage
from server.worker import StreamHandler, WorkerContext

SHELTERS_GROUP = "shelters_live"


async def handle_alert(ctx: WorkerContext, msg: StreamMessage) -> None:
    alert_id = msg.fields.get("alert_id")
    if not alert_id or not str(alert_id).isdigit():
        return  # malformed entry: nothing to do, ack it
    async with unit_of_work(ctx.sessionmaker) as session:
        await apply_alert(session, int(alert_id))


STREAM_HANDLERS = [StreamHandler(ALERTS_STREAM, SHELTERS_GROUP, handle_alert)]
