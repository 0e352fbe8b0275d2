"""Running a worker in the test's own loop until a condition holds."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.ext.asyncio import async_sessionmaker

from server.worker import Worker, WorkerContext


def make_ctx(settings, engine, redis_client, name: str) -> WorkerContext:
    return WorkerContext(
        settings=settings, engine=engine, sessionmaker=async_sessionmaker(engine), redis=redis_client, name=name
    )


async def run_until(worker: Worker, cond, timeout: float = 20.0) -> None:
    task = asyncio.create_task(worker.run())
    try:
        deadline = time.monotonic() + timeout
        while not await cond():
            assert time.monotonic() < deadline, "condition not reached"
            await asyncio.sleep(0.02)
    finally:
        worker.stop.set()
        await asyncio.wait_for(task, 40)
