"""Real-time source (DMDATA.JP API v2 WebSocket) against the local stand-in, real Postgres and Redis.

The client is the real ``websockets`` client; the stand-in is a real server on loopback
(``alerts/feeds/realtime_server.py``). No timing assertions: waits are bounded, never measured.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import io
import time
import zipfile
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import func, select

from alerts.events.models import Alert, AlertEvent
from alerts.events.outbox import ALERTS_STREAM
from alerts.feeds.realtime import (
    FrameError,
    RealtimeSource,
    SocketStartError,
    connection_status,
    decode_body,
    is_test_message,
)
from alerts.feeds.realtime_gap import PullGapObserver, gap_status, reconcile_gaps
from alerts.feeds.realtime_server import RealtimeServer, data_message, classify, eew_chain, eew_document
from alerts.feeds.realtime_settings import RealtimeSettings
from alerts.feeds.replay import render_scenario

SCENARIO = "fukushima_quake_then_rain"


# --- decoding (no network) --------------------------------------------------------------

def _gz64(data: bytes) -> str:
    return base64.b64encode(gzip.compress(data)).decode()


def test_body_is_base64_then_gunzipped():
    doc = eew_document(serial=1, origin=datetime.now(UTC), warning=True)
    assert decode_body({"body": _gz64(doc), "encoding": "base64", "compression": "gzip"}, max_bytes=1 << 20) == doc


def test_body_plain_utf8_and_zip_are_read():
    doc = "<Report>短い</Report>".encode()
    assert decode_body({"body": doc.decode(), "encoding": "utf-8", "compression": None}, max_bytes=1000) == doc
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.xml", doc)
    msg = {"body": base64.b64encode(buf.getvalue()).decode(), "encoding": "base64", "compression": "zip"}
    assert decode_body(msg, max_bytes=1000) == doc


@pytest.mark.parametrize(
    ("msg", "code"),
    [
        ({"encoding": "base64", "compression": "gzip"}, "no_body"),
        ({"body": "@@not base64@@", "encoding": "base64", "compression": "gzip"}, "bad_base64"),
        ({"body": base64.b64encode(b"not gzip").decode(), "encoding": "base64", "compression": "gzip"}, "bad_gzip"),
        ({"body": base64.b64encode(gzip.compress(bytes(range(256)) * 2)[:60]).decode(), "encoding": "base64",
          "compression": "gzip"}, "bad_gzip"),
        ({"body": "x", "encoding": "rot13", "compression": None}, "bad_encoding"),
        ({"body": "x", "encoding": "utf-8", "compression": "brotli"}, "bad_compression"),
    ],
)
def test_bad_bodies_are_refused_with_a_code(msg, code):
    with pytest.raises(FrameError) as exc:
        decode_body(msg, max_bytes=1000)
    assert exc.value.code == code


def test_gzip_bomb_stops_at_the_size_cap():
    msg = {"body": _gz64(b"\0" * 5_000_000), "encoding": "base64", "compression": "gzip"}
    with pytest.raises(FrameError) as exc:
        decode_body(msg, max_bytes=100_000)
    assert exc.value.code == "too_large"


def test_test_flag_or_drill_status_makes_a_test_message():
    assert is_test_message({"head": {"test": True}})
    assert is_test_message({"head": {"test": False}, "xmlReport": {"control": {"status": "訓練"}}})
    assert not is_test_message({"head": {"test": False}, "xmlReport": {"control": {"status": "通常"}}})


def test_stand_in_classifies_like_dmdata():
    origin = datetime.now(UTC)
    assert classify(eew_document(serial=1, origin=origin, warning=True))[0] == "eew.warning"
    assert classify(eew_document(serial=1, origin=origin, warning=False))[0] == "eew.forecast"
    docs = dict(render_scenario(SCENARIO))
    assert classify(docs["01_VXSE51.xml"])[0] == "telegram.earthquake"
    assert classify(docs["03_VTSE41.xml"])[0] == "telegram.earthquake"
    assert classify(docs["04_VPWW53.xml"])[0] == "telegram.weather"
    assert classify(docs["06_cap_evacuation.xml"])[0] is None  # CAP never comes over the socket


# --- against the stand-in ---------------------------------------------------------------

@pytest.fixture
async def rt_server():
    server = await RealtimeServer().start()
    yield server
    await server.stop()


def rt_settings(server: RealtimeServer, **kw) -> RealtimeSettings:
    values = dict(api_key=server.api_key, url=server.socket_url, connections=1, backoff_base_seconds=0.05,
                  backoff_cap_seconds=0.2, connect_timeout_seconds=5.0, gap_grace_seconds=60.0)
    values.update(kw)
    return RealtimeSettings(**values)


class Recorder:
    def __init__(self):
        self.events: list[tuple[str, str, dict]] = []

    def __call__(self, event, mid, at, detail):
        self.events.append((event, mid, detail))

    def count(self, event: str) -> int:
        return sum(1 for e, _, _ in self.events if e == event)


async def until(predicate, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        await asyncio.sleep(0.02)


class Running:
    """A RealtimeSource running in a task of the test's loop."""

    def __init__(self, settings, realtime, sessionmaker, redis):
        self.recorder = Recorder()
        self.source = RealtimeSource(settings, realtime, sessionmaker, redis, observer=self.recorder,
                                     instance="test")
        self.stop = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def __aenter__(self):
        self.task = asyncio.create_task(self.source.run(self.stop))
        return self

    async def __aexit__(self, *exc):
        self.stop.set()
        await asyncio.wait_for(self.task, timeout=10)
        await self.source.aclose()


async def count_alerts(sessionmaker, *where) -> int:
    async with sessionmaker() as s:
        return (await s.execute(select(func.count()).select_from(Alert).where(*where))).scalar_one()


async def test_eew_chain_over_two_sockets_is_stored_once_each_and_relayed(
    rt_server, settings, sessionmaker, redis_client
):
    async with Running(settings, rt_settings(rt_server, connections=2), sessionmaker, redis_client) as run:
        await rt_server.wait_connections(2)
        origin = datetime.now(UTC) - timedelta(seconds=10)
        for doc in eew_chain(origin):
            await rt_server.publish(doc)
        await until(lambda: run.recorder.count("stored") == 3, what="three EEW stored")
        await until(lambda: run.recorder.count("duplicate") == 3, what="second socket's copies seen")
    assert await count_alerts(sessionmaker, Alert.category == "eew") == 3
    assert await count_alerts(sessionmaker, Alert.is_drill.is_(True)) == 0
    assert await redis_client.xlen(ALERTS_STREAM) == 3
    async with sessionmaker() as s:
        events = (await s.execute(select(AlertEvent.category, AlertEvent.severity))).all()
    assert events == [("eew", "Extreme")]  # one event: the chain's EventID


async def test_duplicated_and_reordered_messages_yield_one_alert_each_and_the_latest_state(
    rt_server, settings, sessionmaker, redis_client
):
    rt_server.duplicate = True
    rt_server.reorder_window = 3
    async with Running(settings, rt_settings(rt_server), sessionmaker, redis_client) as run:
        await rt_server.wait_connections(1)
        for doc in eew_chain(datetime.now(UTC) - timedelta(seconds=10)):
            await rt_server.publish(doc)
        await until(lambda: run.recorder.count("stored") == 3 and run.recorder.count("duplicate") == 3)
    assert await count_alerts(sessionmaker) == 3
    async with sessionmaker() as s:
        latest = (await s.execute(
            select(Alert.payload["serial"].astext).join(AlertEvent, AlertEvent.latest_alert_id == Alert.id)
        )).scalar_one()
    assert latest == "3"  # serial 3 arrived first; serials 2 and 1 did not roll the event back


async def test_same_document_from_pull_and_socket_is_one_alert(
    rt_server, feed_server, poller, settings, sessionmaker, redis_client
):
    docs = dict(render_scenario(SCENARIO))
    async with Running(settings, rt_settings(rt_server), sessionmaker, redis_client) as run:
        await rt_server.wait_connections(1)
        await rt_server.publish(docs["01_VXSE51.xml"])
        feed_server.store.publish("eqvol", "01_VXSE51.xml", docs["01_VXSE51.xml"])
        await until(lambda: run.recorder.count("stored") == 1)
        summary = await poller.poll_once()
        # PULL's copy found the alert already stored (the socket was first) ...
        feed_server.store.publish("eqvol", "02_VXSE53.xml", docs["02_VXSE53.xml"])
        await poller.poll_once()
        await rt_server.publish(docs["02_VXSE53.xml"])
        await until(lambda: run.recorder.count("stored") == 2)
    # ... and the socket's copy of what PULL stored first is known, not stored again.
    assert summary.documents_ok == 1
    assert run.recorder.events[-1][2]["alert_ids"] == []
    assert await count_alerts(sessionmaker) == 2
    assert await redis_client.xlen(ALERTS_STREAM) == 2


async def test_dropped_socket_reconnects_and_pull_backfills_what_it_missed_as_a_gap(
    rt_server, feed_server, feed_settings, settings, sessionmaker, redis_client
):
    from alerts.feeds.poller import FeedPoller

    docs = dict(render_scenario(SCENARIO))
    realtime = rt_settings(rt_server, gap_grace_seconds=30.0)
    observer = PullGapObserver(redis_client, feed_settings.jma_feeds)
    poller = FeedPoller(feed_settings, sessionmaker, redis_client, observer=observer)
    try:
        async with Running(settings, realtime, sessionmaker, redis_client) as run:
            await rt_server.wait_connections(1)
            await rt_server.publish(docs["01_VXSE51.xml"])
            feed_server.store.publish("eqvol", "01.xml", docs["01_VXSE51.xml"])
            await until(lambda: run.recorder.count("stored") == 1)

            # DMDATA goes away: the socket drops and socket starts are refused for a while.
            rt_server.refuse_starts = True
            assert await rt_server.drop_connections() == 1
            await until(lambda: rt_server.socket_starts >= 3, what="reconnect attempts")
            assert await rt_server.publish(docs["02_VXSE53.xml"])  # sent to nobody
            feed_server.store.publish("eqvol", "02.xml", docs["02_VXSE53.xml"])
            feed_server.store.publish("eqvol", "03.xml", docs["03_VTSE41.xml"])
            feed_server.store.publish("cap", "06.xml", docs["06_cap_evacuation.xml"])
            summary = await poller.poll_once()
            assert summary.documents_ok == 4 and summary.alerts_created == 3  # 01 was the socket's
            await until(lambda: redis_client.zcard("bousai:realtime:pull_candidates"), what="candidates noted")
            await asyncio.sleep(0.05)  # the observer's writes are fire-and-forget

            # DMDATA back: the client reconnects by itself and the socket carries on.
            rt_server.refuse_starts = False
            await rt_server.wait_connections(1)
            await rt_server.publish(docs["04_VPWW53.xml"])
            feed_server.store.publish("extra", "04.xml", docs["04_VPWW53.xml"])
            await until(lambda: run.recorder.count("stored") == 2)
            await poller.poll_once()
            # The tsunami advisory comes late over the socket (within the grace): not a gap.
            await rt_server.publish(docs["03_VTSE41.xml"])
            await until(lambda: run.recorder.count("stored") == 3)
    finally:
        await poller.aclose()
    # Judged as if the grace period had passed: 02 (the socket never had it) is a gap;
    # 03 came late but came; CAP is never the socket's.
    assert await reconcile_gaps(redis_client, realtime.gap_grace_seconds, now=time.time() + 60) == 1
    status = await gap_status(redis_client)
    assert status["gap_total"] == 1 and status["pending_checks"] == 0
    assert status["recent_gaps"][0]["entry_id"].endswith("/data/02.xml")
    assert await count_alerts(sessionmaker) == 5  # nothing lost, nothing twice


async def test_test_telegrams_only_when_asked_and_then_as_drills(rt_server, settings, sessionmaker, redis_client):
    origin = datetime.now(UTC) - timedelta(seconds=10)
    async with Running(settings, rt_settings(rt_server), sessionmaker, redis_client) as run:
        await rt_server.wait_connections(1)
        await rt_server.publish(eew_document(serial=1, origin=origin, warning=True), test=True)  # not sent to us
        # A server that sends one anyway: the client skips it.
        doc = eew_document(serial=2, origin=origin, warning=True)
        cls, report = classify(doc)
        await rt_server.send_raw(orjson.dumps(data_message(doc, classification=cls, xml_report=report,
                                                           test=True)).decode())
        await rt_server.publish(eew_document(serial=3, origin=origin, warning=True))
        await until(lambda: run.recorder.count("stored") == 1)
    assert await count_alerts(sessionmaker) == 1

    async with Running(settings, rt_settings(rt_server, accept_tests=True), sessionmaker, redis_client) as run:
        await rt_server.wait_connections(1)
        later = origin + timedelta(minutes=5)
        await rt_server.publish(eew_document(serial=1, origin=later, warning=True), test=True)
        await rt_server.publish(eew_document(serial=1, origin=later + timedelta(minutes=1), warning=True,
                                             status="訓練"))
        await until(lambda: run.recorder.count("stored") == 2)
    # head.test (its XML says 通常) and Control/Status 訓練: both drills, never real alerts.
    assert await count_alerts(sessionmaker, Alert.is_drill.is_(True)) == 2
    assert await count_alerts(sessionmaker, Alert.is_drill.is_(False)) == 1


async def test_bad_frames_and_documents_are_skipped_and_the_socket_goes_on(
    rt_server, settings, sessionmaker, redis_client
):
    from alerts.feeds.realtime import REALTIME_ERRORS, REALTIME_MESSAGES

    def errors(reason):
        return REALTIME_ERRORS.labels(reason)._value.get()

    def rejected():
        return REALTIME_MESSAGES.labels("rejected")._value.get()

    before = {r: errors(r) for r in ("malformed_frame", "bad_base64", "bad_id")}
    rejected_before = rejected()
    origin = datetime.now(UTC) - timedelta(seconds=10)
    async with Running(settings, rt_settings(rt_server), sessionmaker, redis_client) as run:
        await rt_server.wait_connections(1)
        await rt_server.send_raw("this is not json")
        await rt_server.send_raw("[1, 2, 3]")
        good = data_message(eew_document(serial=1, origin=origin, warning=True), classification="eew.warning",
                            xml_report={}, test=False)
        await rt_server.send_raw(orjson.dumps({**good, "id": "x1", "body": "@@@"}).decode())
        await rt_server.send_raw(orjson.dumps({**good, "id": "x2", "body": _gz64(b"<Report><unclosed>")}).decode())
        await rt_server.send_raw(orjson.dumps({**good, "id": 42}).decode())
        await rt_server.publish(eew_document(serial=2, origin=origin, warning=True))
        await until(lambda: run.recorder.count("stored") == 1)
        starts = rt_server.socket_starts
    assert starts == 1  # the same socket all along
    assert await count_alerts(sessionmaker) == 1
    assert errors("malformed_frame") - before["malformed_frame"] == 2
    assert errors("bad_base64") - before["bad_base64"] == 1
    assert errors("bad_id") - before["bad_id"] == 1
    assert rejected() - rejected_before == 3  # bad base64, broken XML, no usable id


async def test_pings_are_answered_and_the_socket_is_kept(settings, sessionmaker, redis_client):
    server = await RealtimeServer(ping_interval=0.05, ping_timeout=0.5).start()
    try:
        async with Running(settings, rt_settings(server), sessionmaker, redis_client):
            await server.wait_connections(1)
            conn = next(iter(server.connections.values()))
            await until(lambda: conn.pongs >= 5, what="pongs")
            assert server.socket_starts == 1 and conn.socket_id in server.connections
    finally:
        await server.stop()


async def test_a_wrong_key_is_refused_and_retried_with_backoff(rt_server, settings, sessionmaker, redis_client):
    realtime = rt_settings(rt_server, api_key="wrong")
    async with Running(settings, realtime, sessionmaker, redis_client) as run:
        with pytest.raises(SocketStartError) as exc:
            await run.source.socket_start()
        assert exc.value.status == 401
        await until(lambda: rt_server.socket_starts >= 4, what="retries")
        await until(lambda: connection_status(redis_client), what="status written")
        status = await connection_status(redis_client)
    assert not rt_server.connections
    assert status[0]["last_error"] and "401" in status[0]["last_error"]


async def test_feeds_status_shows_the_realtime_source_and_its_gaps(settings, monkeypatch, capsys):
    import redis

    from alerts.feeds import realtime_settings
    from alerts.feeds.realtime_gap import GAP_TOTAL
    from server import settings as server_settings
    from server.cli import main

    monkeypatch.setenv("BOUSAI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BOUSAI_REDIS_URL", settings.redis_url)
    monkeypatch.setenv("BOUSAI_REALTIME_API_KEY", "k")
    server_settings.get_settings.cache_clear()
    realtime_settings.get_realtime_settings.cache_clear()
    r = redis.Redis.from_url(settings.redis_url)
    r.set(GAP_TOTAL, 7)
    try:
        # The command runs asyncio.run(): in a worker thread, so this thread's event loop stays set.
        assert await asyncio.to_thread(main, ["feeds", "status"]) == 0
    finally:
        r.delete(GAP_TOTAL)
        r.close()
        server_settings.get_settings.cache_clear()
        realtime_settings.get_realtime_settings.cache_clear()
    printed = capsys.readouterr().out
    status = orjson.loads(printed[printed.index("{"):])["realtime"]
    assert status["enabled"] is True and status["gap_total"] == 7 and status["pending_checks"] == 0


async def test_eew_chain_reaches_each_resident_through_the_worker_once_per_alert(
    rt_server, settings, engine, redis_client
):
    """Socket → ingest → alerts:new → the real worker's delivery consumer → pushes; two sockets
    and every frame sent twice, yet each resident gets each alert at most once."""
    from collections import Counter

    from sqlalchemy.ext.asyncio import async_sessionmaker

    from alerts.delivery.tasks import STREAM_HANDLERS
    from server.worker import Worker, WorkerContext
    from tests.kits.delivery import FUKUSHIMA_CITY, IWAKI, add_household, delivery, pushes
    from tests.kits.db import truncate_all

    sm = async_sessionmaker(engine, expire_on_commit=False)
    try:
        coast = await add_household(sm, places={"home": IWAKI})
        inland = await add_household(sm, places={"home": FUKUSHIMA_CITY})
        rt_server.duplicate = True
        ctx = WorkerContext(settings=settings, engine=engine, sessionmaker=sm, redis=redis_client, name="rt-test")
        worker = Worker(ctx, [h for h in STREAM_HANDLERS if h.stream == ALERTS_STREAM], [])
        worker_task = asyncio.create_task(worker.run())
        try:
            async with Running(settings, rt_settings(rt_server, connections=2), sm, redis_client) as run:
                await rt_server.wait_connections(2)
                for doc in eew_chain(datetime.now(UTC) - timedelta(seconds=8)):
                    await rt_server.publish(doc)
                await until(lambda: run.recorder.count("stored") == 3, what="chain stored")

            async def fanned_out():
                async with sm() as s:
                    return (await s.execute(select(func.count()).select_from(Alert)
                                            .where(Alert.fanned_out_at.is_not(None)))).scalar_one() == 3

            # Bounded well inside the 60 s an EEW stays fresh (a stale one is recorded, never pushed).
            await until(fanned_out, timeout=45, what="chain fanned out")
        finally:
            worker.stop.set()
            await asyncio.wait_for(worker_task, 40)
        sent = await pushes(sm)
        per_pair = Counter((p["dres"], p["alert_id"]) for p in sent)
        assert per_pair and max(per_pair.values()) == 1  # never the same alert twice to a resident
        assert {r for r, _ in per_pair} == {coast.resident_id, inland.resident_id}
        assert all(p["data"]["kind"] in ("new", "raised") for p in sent)
        # One delivery record per resident for the chain's one event.
        assert len(await delivery(sm, coast.resident_id)) == 1
        assert len(await delivery(sm, inland.resident_id)) == 1
    finally:
        await truncate_all(engine)


async def test_without_redis_messages_are_still_stored_once(rt_server, settings, sessionmaker):
    """Redis unreachable (nothing listens on loopback port 1): no cheap dedupe, no relay, but
    the alert is stored, once, by ingest's own key; the outbox catch-up relays it later."""
    import redis.asyncio as aioredis

    dead = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        async with Running(settings, rt_settings(rt_server, connections=2), sessionmaker, dead) as run:
            await rt_server.wait_connections(2)
            await rt_server.publish(eew_document(serial=1, origin=datetime.now(UTC), warning=True))
            await until(lambda: run.recorder.count("stored") == 2, what="both copies handled")
    finally:
        await dead.aclose()
    assert await count_alerts(sessionmaker) == 1
