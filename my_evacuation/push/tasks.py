"""Worker side of sending: push jobs, the notifications relay and the push catch-up."""

from __future__ import annotations

from my_evacuation.push.notifications import NOTIFY_CHANNEL, relay_notifications
from server import lanes
from server.lanes import ALERT, BULK, CRITICAL
from my_evacuation.push.jobs import PUSH_GROUP, PUSH_STREAM, PushSender, build_sender, catch_up, lane_of_job, parse_job
from server.streams import StreamMessage
from server.worker import StreamHandler, WorkerContext, WorkerLoop

# Push jobs wait on the network: 8 batches of 500 in flight per worker keep a provider's
# HTTP/2 connections busy without holding more than 8 Postgres connections.
PUSH_CONCURRENCY = 8
# A lost wake-up (LISTEN connection dropped) delays a notification by at most this.
NOTIFICATIONS_POLL_SECONDS = 5.0
# Lost push jobs (Redis restart) are looked for this often.
CATCH_UP_SECONDS = 10.0


async def sender(ctx: WorkerContext) -> PushSender:
    async def factory(c: WorkerContext):
        s = await build_sender(c.settings, c.sessionmaker, c.redis)
        return s

    return await ctx.resource("push.sender", factory)


async def handle_push_job(ctx: WorkerContext, msg: StreamMessage) -> None:
    ids = parse_job(msg.fields)
    if ids:
        received = msg.fields.get("received")
        await (await sender(ctx)).send_job(
            ids, lane=lane_of_job(msg.fields), received=float(received) if received else None
        )


async def relay(ctx: WorkerContext) -> None:
    await relay_notifications(ctx.sessionmaker, ctx.redis)


async def push_catch_up(ctx: WorkerContext) -> None:
    await catch_up(ctx.sessionmaker, ctx.redis, stale_seconds=ctx.settings.push_stale_seconds)


async def warm_sender(ctx: WorkerContext) -> None:
    s = await sender(ctx)
    fcm = s.providers.by_kind.get("fcm_token")
    tokens = getattr(fcm, "_tokens", None)  # FCM: fetch the OAuth token now, not on the first alert
    if tokens is not None:
        await tokens.token()


WORKER_STARTUP = [warm_sender]
# One reader per lane family (server.lanes): critical jobs have slots of their own, alert
# and bulk share theirs (alert first, bulk guaranteed a share).
STREAM_HANDLERS = [
    StreamHandler(lanes.stream_for(PUSH_STREAM, CRITICAL, lanes_on=True), PUSH_GROUP, handle_push_job,
                  concurrency=PUSH_CONCURRENCY, lane=CRITICAL, lane_of=PUSH_STREAM),
    StreamHandler(PUSH_STREAM, PUSH_GROUP, handle_push_job, concurrency=PUSH_CONCURRENCY, lane=ALERT, lane_of=PUSH_STREAM),
    StreamHandler(lanes.stream_for(PUSH_STREAM, BULK, lanes_on=True), PUSH_GROUP, handle_push_job,
                  concurrency=PUSH_CONCURRENCY, lane=BULK, lane_of=PUSH_STREAM),
]
WORKER_LOOPS = [
    WorkerLoop("notifications.relay", relay, NOTIFICATIONS_POLL_SECONDS, wake_channel=NOTIFY_CHANNEL),
    WorkerLoop("push.catch_up", push_catch_up, CATCH_UP_SECONDS),
]
