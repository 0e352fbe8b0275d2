"""Process heartbeats for container health checks: ``bousai health worker|scheduler``.

A worker already refreshes ``bousai:worker:<name>`` in Redis from its own event loop every
10 s (expiring after 30 s); the scheduler gets the same here (``bousai:scheduler:<name>``,
refreshed by a task on its event loop, the leader and a standby alike). The check passes
while the key exists: a process that died, or whose loop is stuck, lets it expire. A process
started with ``--name "$HOSTNAME"`` (as the compose file does) is checked by the same name.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from server.settings import get_settings

log = structlog.get_logger()

SCHEDULER_HEARTBEAT_KEY = "bousai:scheduler:{name}"


def default_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def heartbeat_key(role: str, name: str) -> str:
    if role == "worker":
        from server.worker import HEARTBEAT_KEY

        return HEARTBEAT_KEY.format(name=name)
    return SCHEDULER_HEARTBEAT_KEY.format(name=name)


async def beat(redis_url: str, key: str, period: float, stop: asyncio.Event) -> None:
    """Refresh ``key`` every ``period`` seconds (TTL 3 periods) until ``stop``; then delete it."""
    redis = aioredis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        while not stop.is_set():
            try:
                await redis.set(key, "1", ex=max(1, int(period * 3)))
            except (RedisError, OSError) as exc:  # Redis away: the check fails, as it should
                log.warning("server.health.heartbeat_failed", key=key, error=str(exc))
            try:
                await asyncio.wait_for(stop.wait(), timeout=period)
            except TimeoutError:
                pass
        try:
            await redis.delete(key)
        except (RedisError, OSError):
            pass
    finally:
        await redis.aclose()


async def _alive(redis_url: str, key: str) -> bool:
    redis = aioredis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        return bool(await redis.exists(key))
    finally:
        await redis.aclose()


def health(args) -> int:
    key = heartbeat_key(args.role, args.name)
    try:
        ok = asyncio.run(asyncio.wait_for(_alive(get_settings().redis_url, key), timeout=5))
    except (RedisError, OSError, TimeoutError) as exc:
        print(f"health: {args.role} {args.name}: redis not answering ({exc})", file=sys.stderr)
        return 1
    if not ok:
        print(f"health: {args.role} {args.name}: no heartbeat ({key} expired or never set)", file=sys.stderr)
        return 1
    return 0


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("role", choices=["worker", "scheduler"])
    p.add_argument("--name", required=True, help="the name the process was started with (--name)")
    p.set_defaults(func=health)


def register(sub) -> None:
    _arguments(sub.add_parser("health", help="exit 0 while a worker or scheduler refreshes its heartbeat (container health checks)"))


if __name__ == "__main__":
    # What the container health checks run: the same check without loading every CLI
    # module (`bousai health` takes seconds to start on a busy host, this well under one).
    parser = argparse.ArgumentParser(prog="python -m server.process_health")
    _arguments(parser)
    sys.exit(health(parser.parse_args()))
