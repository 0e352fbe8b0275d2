"""Real-time JMA source: DMDATA.JP API v2 WebSocket → the same ingest as a PULL entry.

Protocol (DMDATA.JP API v2, public documentation):

* ``POST /v2/socket`` (API key as Basic-auth user) with ``classifications``, ``test``
  (``no`` | ``including``), ``appName``, ``formatMode: raw`` → ``ticket`` and
  ``websocket: {id, url, protocol: ["dmdata.v2"], expiration}``; the ticket is used once.
* The socket (sub-protocol ``dmdata.v2``) sends JSON text frames: ``start`` (what was
  granted), ``ping`` (answer ``{"type": "pong", "pingId": ...}`` or be closed within 120 s),
  ``pong``, ``error`` (``close: true`` = the server is closing), and ``data``: ``id`` (the
  delivery's unique hash), ``classification``, ``head`` (``type`` e.g. VXSE43, ``author``,
  ``time``, ``test``, ``xml``), ``xmlReport`` (Control and Head of the XML), ``format``,
  ``compression`` (gzip | zip | null), ``encoding`` (base64 | utf-8) and ``body``.

Each ``data`` message: claimed once by its ``id`` in Redis (``SET NX``: two sockets, a
reconnect re-sending, a second realtime process), queued, decoded (base64 → gunzip, capped
at ``xml_max_bytes``), parsed by ``alerts.sources.parse_document`` and stored by
``alerts.feeds.ingest.store_document`` — the PULL path's own functions; the document's
(source, source_id) then dedupes against PULL. A test telegram (``head.test``) or a
Control/Status other than 通常 is stored as a drill, never a real alert, and only when
``accept_tests`` asked for them. A malformed frame or a document that fails parsing is
logged, counted and skipped; the socket goes on. The receive loop never waits on the
database (a queue sits between), so pings are answered while ingest is slow; PULL keeps
polling in its own process whatever the socket does.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import io
import random
import socket
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import redis.asyncio as aioredis
import structlog
from prometheus_client import Counter, Histogram
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from alerts.feeds.ingest import store_document
from alerts.feeds.realtime_gap import PREFIX, mark_delivered, reconcile_gaps
from alerts.feeds.realtime_settings import RealtimeSettings
from alerts.sources import parse_document
from alerts.sources.safexml import DocumentError, NotAnAlert
from server.settings import Settings

log = structlog.get_logger()

SUBPROTOCOL = "dmdata.v2"
USER_AGENT = "bousai-realtime/0.1 (+https://github.com/bousai)"
# A message id longer than this is not DMDATA's (a 384-bit hash in hex is 96 characters).
MAX_ID_CHARS = 256
# How often the reconciler judges PULL's candidates and the connection status is written.
HOUSEKEEPING_SECONDS = 10.0
STATUS_TTL_SECONDS = 120
# A store that failed (database down) is tried again this many times before the claim is
# released for another connection (and PULL) to take.
STORE_ATTEMPTS = 3

REALTIME_MESSAGES = Counter("bousai_realtime_messages_total", "Real-time socket data messages, by outcome", ["result"])
REALTIME_ERRORS = Counter("bousai_realtime_errors_total", "Real-time socket errors", ["reason"])
REALTIME_CONNECTIONS = Counter("bousai_realtime_connections_total", "Real-time socket connection attempts", ["result"])
REALTIME_INGEST = Histogram(
    "bousai_realtime_ingest_seconds",
    "Data message received → alert committed and relayed",
    # The path is tens of milliseconds; past a second the database is struggling.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

# Observer hook (benchmarks, tests): (event, message id, monotonic time, detail).
Observer = Callable[[str, str, float, dict[str, Any]], None]


def message_key(message_id: str) -> str:
    return f"{PREFIX}:msg:{message_id}"


def status_key(instance: str, n: int) -> str:
    return f"{PREFIX}:conn:{instance}:{n}"


class FrameError(ValueError):
    """A frame or body that cannot be used; ``code`` is the metric label."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class SocketStartError(Exception):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def decode_body(msg: dict[str, Any], *, max_bytes: int) -> bytes:
    """A ``data`` message's body as the document's bytes (base64 / utf-8, then gzip / zip / none)."""
    body = msg.get("body")
    if not isinstance(body, str):
        raise FrameError("no_body", "data message without a string body")
    encoding = msg.get("encoding")
    if encoding == "base64":
        if len(body) > (max_bytes * 4) // 3 + 4:
            raise FrameError("too_large", f"base64 body over {max_bytes} bytes")
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise FrameError("bad_base64", str(exc)) from exc
    elif encoding in (None, "utf-8"):
        raw = body.encode("utf-8")
    else:
        raise FrameError("bad_encoding", f"unknown encoding {encoding!r}")
    compression = msg.get("compression")
    if compression == "gzip":
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = d.decompress(raw, max_bytes + 1)
        except zlib.error as exc:
            raise FrameError("bad_gzip", str(exc)) from exc
        if len(out) > max_bytes or d.unconsumed_tail:
            raise FrameError("too_large", f"gzip body over {max_bytes} bytes")
        if not d.eof:
            raise FrameError("bad_gzip", "truncated gzip stream")
        return out
    if compression == "zip":
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as zf:
                infos = zf.infolist()
                if len(infos) != 1 or infos[0].file_size > max_bytes:
                    raise FrameError("bad_zip", "zip body must hold one document within the size cap")
                with zf.open(infos[0]) as f:
                    out = f.read(max_bytes + 1)
        except (zipfile.BadZipFile, zlib.error, OSError) as exc:
            raise FrameError("bad_zip", str(exc)) from exc
        if len(out) > max_bytes:
            raise FrameError("too_large", f"zip body over {max_bytes} bytes")
        return out
    if compression is None:
        if len(raw) > max_bytes:
            raise FrameError("too_large", f"body over {max_bytes} bytes")
        return raw
    raise FrameError("bad_compression", f"unknown compression {compression!r}")


def is_test_message(msg: dict[str, Any]) -> bool:
    """DMDATA's ``head.test``, or an XML Control/Status other than 通常 (訓練, 試験)."""
    head = msg.get("head") if isinstance(msg.get("head"), dict) else {}
    if head.get("test") is True:
        return True
    report = msg.get("xmlReport") if isinstance(msg.get("xmlReport"), dict) else {}
    control = report.get("control") if isinstance(report.get("control"), dict) else {}
    status = control.get("status")
    return status is not None and status != "通常"


def backoff_delay(consecutive_failures: int, base: float, cap: float, *, rng=random) -> float:
    """Full jitter under a capped exponential ceiling (the first retry within ``base``)."""
    return rng.uniform(0, min(cap, base * 2 ** max(0, consecutive_failures - 1)))


@dataclass
class Delivery:
    message_id: str
    msg: dict[str, Any]
    received_at: float  # monotonic
    connection: int
    test: bool


@dataclass
class ConnectionStatus:
    state: str = "starting"  # starting | connecting | connected | backoff | stopped
    socket_id: Any = None
    since: str | None = None
    last_message_at: str | None = None
    messages: int = 0
    reconnects: int = 0
    last_error: str | None = None

    def set(self, state: str, **values: Any) -> None:
        self.state = state
        self.since = datetime.now(UTC).isoformat()
        for k, v in values.items():
            setattr(self, k, v)


class RealtimeSource:
    """N sockets (``connections``), one ingest worker, one housekeeping loop."""

    def __init__(
        self,
        settings: Settings,
        realtime: RealtimeSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: aioredis.Redis,
        *,
        client: httpx.AsyncClient | None = None,
        observer: Observer | None = None,
        instance: str | None = None,
    ) -> None:
        self.settings = settings
        self.realtime = realtime
        self.sessionmaker = sessionmaker
        self.redis = redis
        self._own_client = client is None
        self.client = client or httpx.AsyncClient(
            timeout=realtime.connect_timeout_seconds, follow_redirects=False, headers={"User-Agent": USER_AGENT}
        )
        self.observer = observer
        self.instance = instance or f"{socket.gethostname()}:{id(self):x}"
        self.queue: asyncio.Queue[Delivery] = asyncio.Queue(maxsize=realtime.queue_size)
        self.status = [ConnectionStatus() for _ in range(max(1, realtime.connections))]

    async def aclose(self) -> None:
        if self._own_client:
            await self.client.aclose()

    def _observe(self, event: str, message_id: str, **detail: Any) -> None:
        if self.observer is not None:
            self.observer(event, message_id, time.monotonic(), detail)

    # --- process ---------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set: the sockets, the ingest worker, gap reconciliation."""
        tasks = [asyncio.create_task(self._worker(), name="realtime.worker"),
                 asyncio.create_task(self._housekeeping(stop), name="realtime.housekeeping")]
        tasks += [asyncio.create_task(self._connection_loop(n, stop), name=f"realtime.socket{n}")
                  for n in range(len(self.status))]
        log.info("alerts.realtime.started", url=self.realtime.url, connections=len(self.status),
                 classifications=self.realtime.classifications, tests=self.realtime.accept_tests)
        try:
            await stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._release_unprocessed()
            for st in self.status:
                st.set("stopped")
            await self._write_status()
            log.info("alerts.realtime.stopped")

    async def _release_unprocessed(self) -> None:
        """Claims of messages still queued at shutdown go back, so another process's socket
        (or a redelivery after restart) may store them instead of skipping them as seen."""
        left = []
        while not self.queue.empty():
            left.append(self.queue.get_nowait().message_id)
        if left:
            try:
                await self.redis.delete(*(message_key(mid) for mid in left))
            except Exception as exc:
                log.warning("alerts.realtime.release_failed", count=len(left), error=str(exc)[:200])
            log.warning("alerts.realtime.unprocessed_at_stop", count=len(left))

    async def socket_start(self) -> dict[str, Any]:
        """``POST /v2/socket``: a ticket and the URL to open."""
        key = self.realtime.api_key.get_secret_value() if self.realtime.api_key else ""
        body = {
            "classifications": self.realtime.classifications,
            "test": "including" if self.realtime.accept_tests else "no",
            "appName": self.realtime.app_name[:24],
            "formatMode": "raw",
        }
        try:
            resp = await self.client.post(self.realtime.url, json=body, auth=(key, ""))
        except httpx.HTTPError as exc:
            raise SocketStartError(f"{type(exc).__name__}: {exc}") from exc
        try:
            data = resp.json()
        except ValueError:
            data = {}
        if resp.status_code != 200 or not isinstance(data, dict) or data.get("status") != "ok":
            err = data.get("error") if isinstance(data, dict) else None
            message = err.get("message") if isinstance(err, dict) else resp.text[:200]
            raise SocketStartError(f"socket start refused: HTTP {resp.status_code}: {message}", status=resp.status_code)
        ws = data.get("websocket")
        if not isinstance(ws, dict) or not isinstance(ws.get("url"), str):
            raise SocketStartError("socket start answer without websocket.url")
        return data

    async def _connection_loop(self, n: int, stop: asyncio.Event) -> None:
        failures = 0
        st = self.status[n]
        while not stop.is_set():
            st.set("connecting")
            try:
                await self._one_connection(n, stop)
                reason = "closed"
            except SocketStartError as exc:
                reason = "socket_start_failed"
                st.last_error = str(exc)[:300]
                REALTIME_CONNECTIONS.labels("socket_start_failed").inc()
                log.warning("alerts.realtime.socket_start_failed", connection=n, status=exc.status,
                            error=str(exc)[:300])
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError) as exc:
                reason = type(exc).__name__
                st.last_error = f"{reason}: {exc}"[:300]
                REALTIME_CONNECTIONS.labels("lost").inc()
                log.warning("alerts.realtime.connection_lost", connection=n, error=st.last_error)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug in frame handling must not end the source for good
                reason = "crashed"
                st.last_error = repr(exc)[:300]
                REALTIME_ERRORS.labels("connection_crashed").inc()
                log.exception("alerts.realtime.connection_crashed", connection=n)
            if stop.is_set():
                break
            started = st.state == "connected"  # the server's start was heard, whatever ended it
            # A socket that got going resets the backoff: a maintenance restart is followed
            # by a reconnect within a second, not by the ceiling of earlier failures.
            failures = 1 if started else failures + 1
            delay = backoff_delay(failures, self.realtime.backoff_base_seconds, self.realtime.backoff_cap_seconds)
            st.set("backoff", reconnects=st.reconnects + 1)
            await self._write_status()
            log.info("alerts.realtime.reconnecting", connection=n, reason=reason, in_s=round(delay, 2))
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                pass

    async def _one_connection(self, n: int, stop: asyncio.Event) -> None:
        """One socket from start to close (the status turns ``connected`` on the server's ``start``)."""
        st = self.status[n]
        start = await self.socket_start()
        ws_info = start["websocket"]
        protocols = [p for p in ws_info.get("protocol") or [SUBPROTOCOL] if isinstance(p, str)] or [SUBPROTOCOL]
        async with connect(
            ws_info["url"],
            subprotocols=protocols,
            open_timeout=self.realtime.connect_timeout_seconds,
            close_timeout=2,
            # Base64 of a gzipped document: never larger than the document cap by much.
            max_size=2 * self.settings.xml_max_bytes,
            user_agent_header=USER_AGENT,
        ) as ws:
            REALTIME_CONNECTIONS.labels("opened").inc()
            log.info("alerts.realtime.connected", connection=n, socket_id=ws_info.get("id"))
            while not stop.is_set():
                async with asyncio.timeout(self.realtime.idle_timeout_seconds):
                    frame = await ws.recv()
                received = time.monotonic()
                msg = self._frame(frame)
                if msg is None:
                    continue
                kind = msg.get("type")
                if kind == "ping":
                    await ws.send(orjson.dumps({"type": "pong", "pingId": msg.get("pingId")}).decode())
                elif kind == "data":
                    st.messages += 1
                    st.last_message_at = datetime.now(UTC).isoformat()
                    await self._accept(n, msg, received)
                elif kind == "start":
                    st.set("connected", socket_id=msg.get("socketId"), last_error=None)
                    await self._write_status()
                    log.info("alerts.realtime.socket_started", connection=n, socket_id=msg.get("socketId"),
                             classifications=msg.get("classifications"), test=msg.get("test"))
                elif kind == "error":
                    REALTIME_ERRORS.labels("server_error").inc()
                    log.warning("alerts.realtime.server_error", connection=n, code=msg.get("code"),
                                error=str(msg.get("error"))[:300], close=msg.get("close"))
                    if msg.get("close"):
                        break
                elif kind != "pong":
                    REALTIME_ERRORS.labels("unknown_type").inc()
                    log.warning("alerts.realtime.unknown_message", connection=n, type=str(kind)[:50])

    def _frame(self, frame: str | bytes) -> dict[str, Any] | None:
        try:
            msg = orjson.loads(frame)
        except orjson.JSONDecodeError:
            msg = None
        if not isinstance(msg, dict):
            REALTIME_ERRORS.labels("malformed_frame").inc()
            log.warning("alerts.realtime.malformed_frame", frame=repr(frame[:120]))
            return None
        return msg

    # --- data messages -----------------------------------------------------------------
    async def _accept(self, n: int, msg: dict[str, Any], received: float) -> None:
        mid = msg.get("id")
        if not isinstance(mid, str) or not mid or len(mid) > MAX_ID_CHARS:
            REALTIME_MESSAGES.labels("rejected").inc()
            REALTIME_ERRORS.labels("bad_id").inc()
            log.warning("alerts.realtime.message_rejected", connection=n, reason="bad_id", id=repr(mid)[:80])
            return
        test = is_test_message(msg)
        if test and not self.realtime.accept_tests:
            REALTIME_MESSAGES.labels("test_skipped").inc()
            return
        head = msg.get("head") if isinstance(msg.get("head"), dict) else {}
        if msg.get("format", "xml") not in ("xml", None) or head.get("xml") is False:
            # DMDATA's non-XML products (A/N telegrams, binary): the parsers read JMA XML only.
            REALTIME_MESSAGES.labels("not_xml").inc()
            return
        try:
            claimed = await self.redis.set(message_key(mid), self.instance, nx=True,
                                           ex=self.realtime.dedupe_ttl_seconds)
        except RedisError as exc:  # no cheap dedupe without Redis: ingest's own (source, source_id) still holds
            claimed = True
            REALTIME_ERRORS.labels("dedupe_unavailable").inc()
            log.warning("alerts.realtime.dedupe_unavailable", id=mid, error=str(exc)[:200])
        if not claimed:
            REALTIME_MESSAGES.labels("duplicate").inc()
            self._observe("duplicate", mid, connection=n)
            return
        try:
            self.queue.put_nowait(Delivery(mid, msg, received, n, test))
        except asyncio.QueueFull:
            with contextlib.suppress(RedisError):
                await self.redis.delete(message_key(mid))
            REALTIME_MESSAGES.labels("queue_full").inc()
            log.error("alerts.realtime.queue_full", id=mid, size=self.queue.qsize())

    async def _worker(self) -> None:
        while True:
            delivery = await self.queue.get()
            try:
                await self.process(delivery)
            except asyncio.CancelledError:
                raise
            except Exception:
                REALTIME_ERRORS.labels("worker_crashed").inc()
                log.exception("alerts.realtime.worker_crashed", id=delivery.message_id)
            finally:
                self.queue.task_done()

    async def process(self, d: Delivery) -> list[int]:
        """Decode, parse and store one claimed message; returns the ids of new alerts."""
        mid = d.message_id
        head = d.msg.get("head") if isinstance(d.msg.get("head"), dict) else {}
        try:
            data = decode_body(d.msg, max_bytes=self.settings.xml_max_bytes)
            alerts = parse_document(data, file=f"dmdata:{mid}", max_bytes=self.settings.xml_max_bytes)
        except NotAnAlert as exc:
            REALTIME_MESSAGES.labels("not_alert").inc()
            log.info("alerts.realtime.not_alert", id=mid, type=head.get("type"), reason=exc.code)
            return []
        except (FrameError, DocumentError) as exc:
            REALTIME_MESSAGES.labels("rejected").inc()
            REALTIME_ERRORS.labels(exc.code).inc()
            log.warning("alerts.realtime.message_rejected", id=mid, type=head.get("type"), reason=exc.code,
                        error=str(exc)[:300])
            return []
        except Exception as exc:  # a parser bug must not stop the socket
            REALTIME_MESSAGES.labels("rejected").inc()
            REALTIME_ERRORS.labels("parser_crash").inc()
            log.exception("alerts.realtime.parser_crashed", id=mid, error=repr(exc)[:200])
            return []
        if d.test:
            for alert in alerts:  # a test telegram is a drill whatever its XML says
                alert.is_drill = True
        for attempt in range(1, STORE_ATTEMPTS + 1):
            try:
                stored = await store_document(self.sessionmaker, self.redis, alerts)
                break
            except Exception as exc:
                if attempt == STORE_ATTEMPTS:
                    # Give the id back: another socket or a redelivery may store it; PULL will.
                    with contextlib.suppress(RedisError):
                        await self.redis.delete(message_key(mid))
                    REALTIME_MESSAGES.labels("store_failed").inc()
                    log.error("alerts.realtime.store_failed", id=mid, error=repr(exc)[:300])
                    return []
                await asyncio.sleep(0.2 * 2**attempt)
        stored_at = time.monotonic()
        try:
            await mark_delivered(self.redis, stored.alert_ids, self.realtime.dedupe_ttl_seconds)
        except RedisError as exc:  # only the gap figure suffers: PULL would count this one as missed
            log.warning("alerts.realtime.mark_delivered_failed", id=mid, error=str(exc)[:200])
        if stored.invalid:
            REALTIME_ERRORS.labels("invalid_alert").inc(len(stored.invalid))
            log.warning("alerts.realtime.invalid_alert", id=mid, error="; ".join(stored.invalid)[:300])
        result = "rejected" if stored.all_invalid else ("ingested" if stored.created else "known")
        REALTIME_MESSAGES.labels(result).inc()
        if stored.created:
            REALTIME_INGEST.observe(stored_at - d.received_at)
        self._observe("stored", mid, alert_ids=stored.created, stored_at=stored_at, received_at=d.received_at)
        log.info("alerts.realtime.message_ingested", id=mid, type=head.get("type"), connection=d.connection,
                 alerts=len(alerts), created=len(stored.created), drill=d.test or None,
                 ms=round((stored_at - d.received_at) * 1000, 1))
        return stored.created

    # --- housekeeping ------------------------------------------------------------------
    async def _housekeeping(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await reconcile_gaps(self.redis, self.realtime.gap_grace_seconds)
                await self._write_status()
            except Exception as exc:  # Redis away: the sockets go on; try again next round
                log.warning("alerts.realtime.housekeeping_failed", error=str(exc)[:200])
            try:
                await asyncio.wait_for(stop.wait(), timeout=HOUSEKEEPING_SECONDS)
            except TimeoutError:
                pass

    async def _write_status(self) -> None:
        try:
            pipe = self.redis.pipeline(transaction=False)
            for n, st in enumerate(self.status):
                key = status_key(self.instance, n)
                pipe.set(key, orjson.dumps({**st.__dict__, "instance": self.instance, "connection": n}),
                         ex=STATUS_TTL_SECONDS)
            await pipe.execute()
        except Exception as exc:
            log.debug("alerts.realtime.status_write_failed", error=str(exc)[:200])


async def connection_status(redis: aioredis.Redis) -> list[dict[str, Any]]:
    """Every live realtime connection's last written status (``bousai feeds status``)."""
    keys = [k async for k in redis.scan_iter(match=f"{PREFIX}:conn:*", count=100)]
    values = await redis.mget(keys) if keys else []
    return sorted((orjson.loads(v) for v in values if v), key=lambda s: (s["instance"], s["connection"]))


async def run_realtime(settings: Settings, realtime: RealtimeSettings, stop: asyncio.Event) -> None:
    """The realtime process body: engine, Redis, the source, until ``stop``."""
    from server.db import make_engine, make_sessionmaker
    from server.redis import make_redis

    if realtime.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(realtime.metrics_port, addr=settings.host)
    engine = make_engine(settings, pool_size=4, max_overflow=2, application_name="bousai-realtime")
    redis = make_redis(settings)
    source = RealtimeSource(settings, realtime, make_sessionmaker(engine), redis)
    try:
        await source.run(stop)
    finally:
        await source.aclose()
        await redis.aclose()
        await engine.dispose()


def main(settings: Settings, realtime: RealtimeSettings) -> int:
    """``bousai realtime``: run until SIGINT/SIGTERM."""
    import signal
    import sys

    from server.logging import configure_logging

    configure_logging(settings.log_level, settings.log_json)
    if not realtime.enabled:
        print("realtime: BOUSAI_REALTIME_API_KEY is not set; the real-time source is off", file=sys.stderr)
        return 2

    async def _run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_realtime(settings, realtime, stop)

    asyncio.run(_run())
    return 0
