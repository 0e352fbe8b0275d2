"""Stream consumers of the delivery domain (picked up by ``server.worker``).

``alerts:new`` (written by the alert outbox relay) → ``fan_out``; ``alerts:safety`` (written
by ``fan_out`` when it told someone) → My Evacuation's safety checks, off the push path. The entry is acked only
after every chunk committed; a worker killed mid fan-out leaves it pending, and another
worker claims it and finishes the remaining chunks (the committed ones are no-ops).
"""

from __future__ import annotations

from alerts.delivery.service import SAFETY_STREAM, fan_out, start_safety_checks
from alerts.events.outbox import ALERTS_STREAM
from server.streams import StreamMessage
from server.worker import StreamHandler, WorkerContext

DELIVERY_GROUP = "delivery"


async def handle_alert(ctx: WorkerContext, msg: StreamMessage) -> None:
    alert_id = msg.fields.get("alert_id")
    if not alert_id or not str(alert_id).isdigit():
        return  # malformed entry: nothing to do, ack it
    await fan_out(ctx.sessionmaker, ctx.redis, int(alert_id))


async def handle_safety(ctx: WorkerContext, msg: StreamMessage) -> None:
    alert_id = msg.fields.get("alert_id")
    if alert_id and str(alert_id).isdigit():
        await start_safety_checks(ctx.sessionmaker, int(alert_id))


# Two fan-outs at once per worker: an update can start while a large first alert is still
# going out; more would only compete for the same Postgres.
STREAM_HANDLERS = [
    StreamHandler(ALERTS_STREAM, DELIVERY_GROUP, handle_alert, concurrency=2),
    StreamHandler(SAFETY_STREAM, DELIVERY_GROUP, handle_safety),
]
