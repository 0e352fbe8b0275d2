"""One slow feed must not stall ingestion (issue 12, item 2): a peer that trickles a byte a
second never trips a per-read timeout, so every fetch has an overall deadline and every feed
is polled apart from the others."""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx
import pytest
from sqlalchemy import select

from alerts.feeds.models import FeedEntry
from alerts.feeds.poller import FeedPoller, FetchError, fetch_capped
from tests.kits.feeds import publish_scenario


class TricklingServer:
    """HTTP on loopback that answers 200 with a large Content-Length, then one byte a second, forever."""

    def __init__(self) -> None:
        self.connections = 0
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> TricklingServer:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: 1000000\r\n\r\n<")
            await writer.drain()
            while True:
                await asyncio.sleep(1.0)
                writer.write(b" ")
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def stop(self) -> None:
        self.server.close()
        for w in list(self._writers):
            w.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.server.wait_closed(), 2)


@pytest.fixture
async def trickler():
    server = await TricklingServer().start()
    yield server
    await server.stop()


async def test_a_trickling_fetch_ends_at_its_overall_deadline(trickler):
    async with httpx.AsyncClient(timeout=5.0) as client:
        started = time.monotonic()
        with pytest.raises(FetchError) as caught:
            await asyncio.wait_for(fetch_capped(client, trickler.url("/doc"), max_bytes=10_000_000, deadline=1.5), 20)
    assert caught.value.reason == "deadline" and caught.value.transient
    assert time.monotonic() - started < 4


async def test_other_feeds_entries_are_stored_within_one_interval_while_one_feed_trickles(
    feed_server, feed_settings, sessionmaker, redis_client, trickler
):
    interval = 1.0
    settings = feed_settings.model_copy(update={
        # The feed itself trickles, and so do the documents another feed lists.
        "jma_feeds": [*feed_settings.jma_feeds, trickler.url("/feed.xml")],
        "feed_poll_seconds": interval,
        # Far longer than the test: the deadline is not what keeps the other feeds going.
        "feed_fetch_deadline_seconds": 120.0,
        "feed_timeout_seconds": 5.0,  # per read: a byte a second never trips it
        "feed_fetch_concurrency": 2,
        "feed_allowed_hosts": [f"127.0.0.1:{trickler.port}"],  # the slow documents' origin
    })
    for i in range(6):  # more trickling documents than the fetch slots
        feed_server.store.publish("other", f"slow_{i}", b"<x/>", link=trickler.url(f"/data/slow_{i}"))
    poller = FeedPoller(settings, sessionmaker, redis_client)

    async def scheduler() -> None:
        # What APScheduler does with max_instances=1: a tick runs only once the last one returned.
        while True:
            started = time.monotonic()
            await poller.poll_once()
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    loop_task = asyncio.create_task(scheduler())
    try:
        # Let the slow feeds get stuck first.
        for _ in range(100):
            if trickler.connections >= 3:
                break
            await asyncio.sleep(0.05)
        assert trickler.connections >= 3
        await asyncio.sleep(interval)
        ids = publish_scenario(feed_server, only=["01_VXSE51.xml"])
        entry_id = next(iter(ids.values()))
        published = time.monotonic()
        stored_after = None
        while time.monotonic() - published < 15:
            async with sessionmaker() as s:
                status = (await s.execute(select(FeedEntry.status).where(FeedEntry.entry_id == entry_id))).scalar()
            if status == "ok":
                stored_after = time.monotonic() - published
                break
            await asyncio.sleep(0.05)
        # One interval plus the fetch, with room for a loaded machine.
        assert stored_after is not None and stored_after < interval + 2.0, stored_after
    finally:
        loop_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop_task
        await poller.aclose()
