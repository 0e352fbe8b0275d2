"""Local stand-in for DMDATA.JP API v2: ``POST /v2/socket`` and the ``dmdata.v2`` WebSocket.

For tests, ``bousai bench ingest --source realtime`` and ``bousai run --demo``; loopback
only. It speaks what the client relies on — Basic-auth key, single-use tickets, the
``dmdata.v2`` sub-protocol, ``start``, ``ping``/``pong`` (closing a socket that stops
answering), ``error``, and ``data`` messages with ``head``, ``xmlReport`` and the
document gzipped and base64-encoded, sent only to sockets subscribed to its
classification (test telegrams only to sockets that asked with ``test: including``) —
and can be told to misbehave: refuse socket starts, drop every socket, delay, duplicate or
reorder messages, send a malformed frame. The framing is the ``websockets`` library's
(uvicorn's ``websockets-sansio`` protocol), never hand-written.

``replay`` plays a scenario to the socket and, with the same bytes, to a local Atom
feed server (the PULL path), preceded by a 緊急地震速報 chain the Atom feeds never carry.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import itertools
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import structlog
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from alerts.feeds.realtime_settings import KNOWN_CLASSIFICATIONS
from alerts.feeds.replay import JST, RenderContext, load_scenario, render_document
from alerts.sources.jma.common import TITLE_TYPE_CODES
from alerts.sources.safexml import DocumentError, parse_xml

log = structlog.get_logger()

SUBPROTOCOL = "dmdata.v2"
DEFAULT_API_KEY = "local-dmdata-key"


def _text(root, local: str) -> str | None:
    found = root.xpath(f"//*[local-name()='{local}']")
    return found[0].text.strip() if found and found[0].text else None


def classify(data: bytes) -> tuple[str | None, dict[str, Any]]:
    """(DMDATA classification, xmlReport) of a JMA document; (None, {}) for anything else (CAP)."""
    try:
        root = parse_xml(data)
    except DocumentError:
        return None, {}
    if not root.tag.endswith("}Report"):
        return None, {}
    title = _text(root, "Title") or ""
    head_el = root.find("{*}Head")
    head = {
        "title": head_el.findtext("{*}Title") if head_el is not None else None,
        "reportDateTime": head_el.findtext("{*}ReportDateTime") if head_el is not None else None,
        "targetDateTime": head_el.findtext("{*}TargetDateTime") if head_el is not None else None,
        "eventId": head_el.findtext("{*}EventID") if head_el is not None else None,
        "serial": head_el.findtext("{*}Serial") if head_el is not None else None,
        "infoType": head_el.findtext("{*}InfoType") if head_el is not None else None,
        "infoKind": head_el.findtext("{*}InfoKind") if head_el is not None else None,
        "infoKindVersion": head_el.findtext("{*}InfoKindVersion") if head_el is not None else None,
        "headline": (root.xpath("string(//*[local-name()='Headline']/*[local-name()='Text'])") or "").strip() or None,
    }
    control = {
        "title": title,
        "dateTime": _text(root, "DateTime"),
        "status": _text(root, "Status"),
        "editorialOffice": _text(root, "EditorialOffice"),
        "publishingOffice": _text(root, "PublishingOffice"),
    }
    if title.startswith("緊急地震速報"):
        cls = "eew.warning" if "警報" in title else "eew.forecast"
    elif any(k in title for k in ("震", "津波")):
        cls = "telegram.earthquake"
    elif any(k in title for k in ("火山", "噴火", "降灰")):
        cls = "telegram.volcano"
    elif any(k in title for k in ("警報", "注意報", "土砂", "洪水", "竜巻", "記録的短時間", "特別")):
        cls = "telegram.weather"
    else:
        cls = "telegram.scheduled"
    return cls, {"control": control, "head": head}


def data_message(data: bytes, *, classification: str, xml_report: dict[str, Any], test: bool,
                 msg_id: str | None = None, compression: str | None = "gzip") -> dict[str, Any]:
    control = xml_report.get("control", {})
    body = gzip.compress(data, compresslevel=6, mtime=0) if compression == "gzip" else data
    return {
        "type": "data",
        "version": "2.0",
        "classification": classification,
        # DMDATA's id is a hash unique to the delivery; the same telegram on two sockets
        # carries the same id.
        "id": msg_id or hashlib.sha384(classification.encode() + b"\0" + data).hexdigest(),
        "passing": [{"name": "bousai-dmdata-standin", "time": datetime.now(UTC).isoformat()}],
        "head": {
            "type": TITLE_TYPE_CODES.get(control.get("title") or "", "UNKNOWN"),
            "author": control.get("editorialOffice"),
            "time": control.get("dateTime"),
            "designation": None,
            "test": test,
            "xml": True,
        },
        "xmlReport": xml_report,
        "format": "xml",
        "compression": compression,
        "encoding": "base64",
        "body": base64.b64encode(body).decode("ascii"),
    }


@dataclass
class SocketConnection:
    socket_id: int
    ws: WebSocket
    classifications: set[str]
    test: bool
    last_pong: float = field(default_factory=time.monotonic)
    pongs: int = 0
    started: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Ticket:
    classifications: list[str]
    test: bool
    app_name: str | None
    socket_id: int
    expires: float


class RealtimeServer:
    """The DMDATA stand-in served by uvicorn on loopback; ``port=0`` picks a free port."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, api_key: str = DEFAULT_API_KEY,
                 ping_interval: float = 60.0, ping_timeout: float = 120.0) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the stand-in serves loopback only")
        self.host, self.port, self.api_key = host, port, api_key
        self.ping_interval, self.ping_timeout = ping_interval, ping_timeout
        self.tickets: dict[str, Ticket] = {}
        self.connections: dict[int, SocketConnection] = {}
        self._ids = itertools.count(1)
        # Misbehaviour, set by tests and benchmarks.
        self.refuse_starts = False  # socket start answers 503 (DMDATA down)
        self.delay_seconds = 0.0  # before each data message
        self.duplicate = False  # each data message twice
        self.reorder_window = 0  # hold this many messages, send them newest first
        self._held: list[tuple[dict[str, Any], bool]] = []
        # Observability: when each message id first left, what was sent.
        self.sent_at: dict[str, float] = {}
        self.sent: list[str] = []
        self.socket_starts = 0
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task | None = None

    # --- addresses -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def socket_url(self) -> str:
        return f"{self.base_url}/v2/socket"

    def env(self) -> dict[str, str]:
        """BOUSAI_REALTIME_* pointing a realtime client at this stand-in."""
        return {"BOUSAI_REALTIME_URL": self.socket_url, "BOUSAI_REALTIME_API_KEY": self.api_key}

    # --- lifecycle ---------------------------------------------------------------------
    async def start(self) -> RealtimeServer:
        config = uvicorn.Config(self._app(), host=self.host, port=self.port, log_level="warning", lifespan="off",
                                access_log=False, ws="websockets-sansio", ws_ping_interval=None)
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # the caller owns signals
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        log.info("alerts.realtime_server.started", url=self.socket_url)
        return self

    async def stop(self) -> None:
        await self.drop_connections()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = None

    async def __aenter__(self) -> RealtimeServer:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # --- controls ----------------------------------------------------------------------
    async def wait_connections(self, n: int, timeout: float = 10.0) -> None:
        """Until ``n`` sockets have been sent their ``start``."""
        deadline = time.monotonic() + timeout
        while sum(1 for c in self.connections.values() if c.started.is_set()) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{n} socket(s) not connected within {timeout} s")
            await asyncio.sleep(0.01)

    async def drop_connections(self, code: int = 1012) -> int:
        """Close every socket (1012: service restart, as a DMDATA maintenance does)."""
        conns = list(self.connections.values())
        self.connections.clear()
        for c in conns:
            try:
                await c.ws.close(code=code)
            except Exception:
                pass
        return len(conns)

    async def send_raw(self, text: str) -> None:
        """A frame as is to every socket (malformed-input tests)."""
        for c in list(self.connections.values()):
            await c.ws.send_text(text)

    async def publish(self, data: bytes, *, test: bool = False, msg_id: str | None = None,
                      classification: str | None = None) -> str | None:
        """Send a JMA document as a ``data`` message; returns its id (None: not a JMA document)."""
        cls, report = classify(data)
        classification = classification or cls
        if classification is None:
            return None
        msg = data_message(data, classification=classification, xml_report=report, test=test, msg_id=msg_id)
        if self.reorder_window:
            self._held.append((msg, test))
            if len(self._held) >= self.reorder_window:
                await self.flush()
            return msg["id"]
        await self._deliver(msg, test)
        return msg["id"]

    async def flush(self) -> None:
        """Send the messages held for reordering, newest first."""
        held, self._held = self._held, []
        for msg, test in reversed(held):
            await self._deliver(msg, test)

    async def _deliver(self, msg: dict[str, Any], test: bool) -> None:
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        targets = [c for c in self.connections.values()
                   if msg["classification"] in c.classifications and (c.test or not test)]
        msg["passing"][0]["time"] = datetime.now(UTC).isoformat()
        frame = orjson.dumps(msg).decode()
        self.sent_at.setdefault(msg["id"], time.monotonic())
        self.sent.append(msg["id"])
        for c in targets:
            for _ in range(2 if self.duplicate else 1):
                try:
                    await c.ws.send_text(frame)
                except Exception as exc:  # a socket closing under us: its client reconnects
                    log.info("alerts.realtime_server.send_failed", socket_id=c.socket_id, error=str(exc)[:100])

    # --- protocol ----------------------------------------------------------------------
    def _response(self, status: int, body: dict[str, Any]) -> JSONResponse:
        base = {"responseId": secrets.token_hex(8), "responseTime": datetime.now(UTC).isoformat()}
        return JSONResponse({**base, **body}, status_code=status)

    def _error(self, status: int, message: str) -> JSONResponse:
        return self._response(status, {"status": "error", "error": {"message": message, "code": status}})

    def _authorized(self, request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                user = base64.b64decode(auth[6:].strip()).decode().split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                return False
            return secrets.compare_digest(user, self.api_key)
        return secrets.compare_digest(request.query_params.get("key", ""), self.api_key)

    async def _socket_start(self, request: Request) -> JSONResponse:
        self.socket_starts += 1
        if not self._authorized(request):
            return self._error(401, "Unauthorized")
        if self.refuse_starts:
            return self._error(503, "Service Unavailable")
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return self._error(400, "Invalid JSON")
        classifications = body.get("classifications") if isinstance(body, dict) else None
        if (not isinstance(classifications, list) or not classifications
                or any(c not in KNOWN_CLASSIFICATIONS for c in classifications)):
            return self._error(400, "Invalid classifications")
        test = body.get("test", "no")
        if test not in ("no", "including"):
            return self._error(400, "Invalid test")
        ticket = secrets.token_urlsafe(24)
        socket_id = next(self._ids)
        # DMDATA's ticket is valid for 300 s.
        self.tickets[ticket] = Ticket(classifications, test == "including", body.get("appName"), socket_id,
                                      time.monotonic() + 300)
        ws_url = f"ws://{self.host}:{self.port}/v2/websocket?ticket={ticket}"
        return self._response(200, {
            "status": "ok",
            "ticket": ticket,
            "websocket": {"id": socket_id, "url": ws_url, "protocol": [SUBPROTOCOL], "expiration": 300},
            "classifications": classifications,
            "test": test,
            "types": body.get("types"),
            "formats": ["xml", "a/n", "binary"],
            "appName": body.get("appName"),
        })

    async def _websocket(self, ws: WebSocket) -> None:
        ticket = self.tickets.pop(ws.query_params.get("ticket", ""), None)
        if ticket is None or ticket.expires < time.monotonic() or SUBPROTOCOL not in ws.scope.get("subprotocols", []):
            await ws.close(code=1008)  # before accept: the handshake is refused with 403
            return
        await ws.accept(subprotocol=SUBPROTOCOL)
        conn = SocketConnection(ticket.socket_id, ws, set(ticket.classifications), ticket.test)
        self.connections[conn.socket_id] = conn
        pinger = asyncio.create_task(self._pinger(conn))
        try:
            await ws.send_text(orjson.dumps({
                "type": "start", "socketId": conn.socket_id, "classifications": ticket.classifications,
                "types": None, "test": "including" if ticket.test else "no", "formats": ["xml", "a/n", "binary"],
                "appName": ticket.app_name, "time": datetime.now(UTC).isoformat(),
            }).decode())
            conn.started.set()
            while True:
                text = await ws.receive_text()
                try:
                    msg = orjson.loads(text)
                except orjson.JSONDecodeError:
                    msg = None
                if isinstance(msg, dict) and msg.get("type") == "pong":
                    conn.last_pong = time.monotonic()
                    conn.pongs += 1
                elif isinstance(msg, dict) and msg.get("type") == "ping":
                    await ws.send_text(orjson.dumps({"type": "pong", "pingId": msg.get("pingId")}).decode())
                else:
                    await ws.send_text(orjson.dumps({"type": "error", "error": "Unknown message", "code": 4400,
                                                     "close": False}).decode())
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            pinger.cancel()
            self.connections.pop(conn.socket_id, None)

    async def _pinger(self, conn: SocketConnection) -> None:
        try:
            while True:
                await asyncio.sleep(self.ping_interval)
                if time.monotonic() - conn.last_pong > self.ping_timeout:
                    await conn.ws.send_text(orjson.dumps({"type": "error", "error": "ping timeout", "code": 4808,
                                                          "close": True}).decode())
                    self.connections.pop(conn.socket_id, None)
                    await conn.ws.close(code=1000)
                    return
                await conn.ws.send_text(orjson.dumps({"type": "ping", "pingId": secrets.token_hex(4)}).decode())
        except asyncio.CancelledError:
            raise
        except Exception:
            return

    def _app(self) -> Starlette:
        return Starlette(routes=[Route("/v2/socket", self._socket_start, methods=["POST"]),
                                 WebSocketRoute("/v2/websocket", self._websocket)])


# --- a 緊急地震速報 chain for Fukushima --------------------------------------------------

_EEW_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<Report xmlns="http://xml.kishou.go.jp/jmaxml1/" xmlns:jmx="http://xml.kishou.go.jp/jmaxml1/">
<Control><Title>{title}</Title><DateTime>{utc}</DateTime><Status>{status}</Status><EditorialOffice>気象庁本庁</EditorialOffice><PublishingOffice>気象庁</PublishingOffice></Control>
<Head xmlns="http://xml.kishou.go.jp/jmaxml1/informationBasis1/"><Title>{title}</Title><ReportDateTime>{report}</ReportDateTime><TargetDateTime>{report}</TargetDateTime><EventID>{event_id}</EventID><InfoType>発表</InfoType><Serial>{serial}</Serial><InfoKind>緊急地震速報</InfoKind><InfoKindVersion>1.2_0</InfoKindVersion><Headline><Text>{headline}</Text></Headline></Head>
<Body xmlns="http://xml.kishou.go.jp/jmaxml1/body/seismology1/" xmlns:jmx_eb="http://xml.kishou.go.jp/jmaxml1/elementBasis1/"><Earthquake><OriginTime>{origin}</OriginTime><ArrivalTime>{origin}</ArrivalTime><Hypocenter><Area><Name>福島県沖</Name><Code type="震央地名">289</Code><jmx_eb:Coordinate description="北緯３７．４度　東経１４１．６度　深さ　５０ｋｍ">+37.4+141.6-50000/</jmx_eb:Coordinate><LandOrSea>海域</LandOrSea></Area></Hypocenter><jmx_eb:Magnitude type="Mj" description="Ｍ{magnitude}">{magnitude}</jmx_eb:Magnitude></Earthquake><Intensity><Forecast><ForecastInt><From>{max_int}</From><To>{max_int}</To></ForecastInt>{areas}</Forecast></Intensity>{next_advisory}</Body>
</Report>
"""
_EEW_AREA = ("<Pref><Name>福島</Name><Code>9070</Code><Area><Name>{name}</Name><Code>{code}</Code><Category><Kind>"
             "<Name>{kind}</Name><Code>{kind_code}</Code></Kind></Category><ForecastInt><From>{int}</From><To>{int}</To>"
             "</ForecastInt></Area></Pref>")


def eew_document(*, serial: int, origin: datetime, warning: bool, final: bool = False, status: str = "通常",
                 magnitude: str = "6.6", areas: list[tuple[str, str, str]] | None = None) -> bytes:
    """One 緊急地震速報 (警報 VXSE43 / 予報 VXSE44) of a Fukushima-offshore quake."""
    areas = areas or [("福島県浜通り", "251", "5+"), ("福島県中通り", "250", "5-"), ("福島県会津", "252", "3")]
    kind, kind_code = ("緊急地震速報（警報）", "10") if warning else ("緊急地震速報（予報）", "00")
    report = origin + timedelta(seconds=4 + 3 * serial)
    area_xml = "".join(_EEW_AREA.format(name=n, code=c, kind=kind, kind_code=kind_code, int=i) for n, c, i in areas)
    return _EEW_TEMPLATE.format(
        title="緊急地震速報（警報）" if warning else "緊急地震速報（予報）",
        utc=report.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        status=status,
        report=report.astimezone(JST).replace(microsecond=0).isoformat(),
        event_id=origin.astimezone(JST).strftime("%Y%m%d%H%M%S"),
        serial=serial,
        headline="福島県沖で地震　強い揺れに警戒" if warning else "福島県沖で地震",
        origin=origin.astimezone(JST).replace(microsecond=0).isoformat(),
        magnitude=magnitude,
        max_int=areas[0][2],
        areas=area_xml,
        next_advisory="<NextAdvisory>この情報をもって、緊急地震速報：最終報とします。</NextAdvisory>" if final else "",
    ).encode("utf-8")


def eew_chain(origin: datetime, *, status: str = "通常") -> list[bytes]:
    """予報 (serial 1), then 警報 (serial 2), then the final 警報 (serial 3)."""
    return [eew_document(serial=1, origin=origin, warning=False, status=status),
            eew_document(serial=2, origin=origin, warning=True, status=status),
            eew_document(serial=3, origin=origin, warning=True, final=True, status=status)]


@dataclass(frozen=True)
class Replayed:
    file: str
    message_id: str | None  # None: not carried by the socket (CAP)
    entry_id: str | None  # None: not on the Atom feeds (EEW)


async def replay(server: RealtimeServer, scenario: str | Path, *, speed: float = 1.0, feed_server=None,
                 eew: bool = True, on_publish: Callable[[Replayed], None] | None = None) -> list[Replayed]:
    """Play a scenario: its JMA documents over the socket and, with the same bytes, every
    document on ``feed_server``'s Atom feeds; the EEW chain first (socket only, as in life)."""
    if speed <= 0:
        raise ValueError("speed must be positive")
    spec = load_scenario(scenario)
    start_wall, start_mono = datetime.now(UTC), time.monotonic()
    ctx = RenderContext(start=start_wall, now=start_wall, run=uuid.uuid4().hex[:12])
    plan: list[tuple[float, str, str | None, bytes | None]] = []
    if eew:
        # An EEW leaves seconds after the quake starts: its chain is stamped as now (one stamped
        # 90 s back would be past the EEW's freshness limit, recorded and never pushed).
        for i, doc in enumerate(eew_chain(start_wall - timedelta(seconds=8))):
            plan.append((i * 1.5, f"eew_{i + 1}.xml", None, doc))
    shift = 5.0 if eew else 0.0
    plan += [(d.offset_seconds + shift, d.file, d.feed, None) for d in spec.documents]
    out: list[Replayed] = []
    for seq, (offset, file, feed, data) in enumerate(plan):
        delay = start_mono + offset / speed - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if data is None:
            ctx.now = start_wall + timedelta(seconds=offset - shift)
            data = render_document((spec.folder / file).read_bytes(), ctx)
            ctx.published[file] = ctx.now
        message_id = await server.publish(data)  # the socket first: it is the fast path
        entry_id = None
        if feed is not None and feed_server is not None:
            name = f"{ctx.now.astimezone(JST):%Y%m%d%H%M%S}_{ctx.run}_{seq:03d}_{file}"
            entry_id = feed_server.store.publish(feed, name, data).entry_id
        record = Replayed(file, message_id, entry_id)
        out.append(record)
        log.info("alerts.realtime_server.replayed", file=file, message_id=(message_id or "")[:16], entry_id=entry_id)
        if on_publish is not None:
            on_publish(record)
    return out
