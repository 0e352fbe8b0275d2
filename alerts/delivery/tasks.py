"""Stream consumers of the delivery domain (picked up by ``server.worker``).

``alerts:new`` (written by the alert outbox relay) → ``fan_out``; ``alerts:safety`` (written
by ``fan_out`` when it told someone) → My Evacuation's safety checks, off the push path. The entry is acked only
after every chunk committed; a worker killed mid fan-out leaves it pending, and another
worker claims it and finishes the remaining chunks (the committed ones are no-ops).

Lanes (``server.lanes``): a critical alert is also on ``alerts:new:critical``, read by a
reader of its own in every worker, and a bulk one on ``alerts:new:bulk``; such an entry is
``routed``, and of its two copies the first consumer to reach one claims the fan-out
(``bousai:fanout:<alert id>`` = its stream) and the other leaves it. A claimed entry that
is handled again on the same stream (a retry, a dead worker's entry claimed) goes on.
"""

from __future__ import annotations

from alerts.delivery.flows import start_safety_checks
from alerts.delivery.service import SAFETY_STREAM, fan_out
from alerts.events.outbox import ALERTS_STREAM
from server import lanes
from server.lanes import ALERT, BULK, CRITICAL, DELIVERY_GROUP
from server.streams import StreamMessage
from server.worker import StreamHandler, WorkerContext

# A claim outlives any fan-out; a re-relay after Redis lost everything finds none and claims again.
FANOUT_CLAIM_SECONDS = 86_400
FANOUT_CLAIM_KEY = "bousai:fanout:{alert_id}"


async def _mine(ctx: WorkerContext, msg: StreamMessage, alert_id: int) -> bool:
    """Whether this copy of a routed alert is the one to fan it out."""
    if msg.fields.get("routed") != "1":
        return True
    key = FANOUT_CLAIM_KEY.format(alert_id=alert_id)
    if await ctx.redis.set(key, msg.stream, nx=True, ex=FANOUT_CLAIM_SECONDS):
        return True
    owner = await ctx.redis.get(key)
    owner = owner.decode() if isinstance(owner, bytes) else owner
    return owner == msg.stream or owner is None


async def handle_alert(ctx: WorkerContext, msg: StreamMessage) -> None:
    alert_id = msg.fields.get("alert_id")
    if not alert_id or not str(alert_id).isdigit():
        return  # malformed entry: nothing to do, ack it
    if not await _mine(ctx, msg, int(alert_id)):
        return  # the other copy (its lane's stream) fans it out
    await fan_out(ctx.sessionmaker, ctx.redis, int(alert_id))


async def handle_safety(ctx: WorkerContext, msg: StreamMessage) -> None:
    alert_id = msg.fields.get("alert_id")
    if alert_id and str(alert_id).isdigit():
        await start_safety_checks(ctx.sessionmaker, int(alert_id))


# Two fan-outs at once per worker per reader: an update can start while a large first alert
# is still going out; more would only compete for the same Postgres. The critical reader's
# two are its own: a prefecture-wide warning never holds the slot an EEW needs.
STREAM_HANDLERS = [
    StreamHandler(lanes.stream_for(ALERTS_STREAM, CRITICAL, lanes_on=True), DELIVERY_GROUP, handle_alert,
                  concurrency=2, lane=CRITICAL, lane_of=ALERTS_STREAM),
    StreamHandler(ALERTS_STREAM, DELIVERY_GROUP, handle_alert, concurrency=2, lane=ALERT, lane_of=ALERTS_STREAM),
    StreamHandler(lanes.stream_for(ALERTS_STREAM, BULK, lanes_on=True), DELIVERY_GROUP, handle_alert,
                  concurrency=2, lane=BULK, lane_of=ALERTS_STREAM),
    StreamHandler(SAFETY_STREAM, DELIVERY_GROUP, handle_safety),
]
