"""A small HTTP/2 client for push providers, on the ``h2`` state machine (the one httpx uses).

Why not httpx for the hot path: measured against the local FCM server, httpx/httpcore
spends ~1.5 ms of CPU per HTTP/2 request once 100 streams share a connection (every
waiting stream task contends for the connection's read lock), which caps a worker at a
few hundred messages a second. Push needs one thing done fast — many small POSTs on a few
long-lived connections — so this client does only that:

- a pool of connections; each keeps to ``min(our cap, the server's
  SETTINGS_MAX_CONCURRENT_STREAMS)`` streams, so the server never has to refuse one;
- a stream refused by the server (REFUSED_STREAM) or above a GOAWAY's last stream id was
  not processed: it raises ``Unprocessed`` and the caller resends it safely; the
  connection is replaced after GOAWAY;
- flow control both ways (bodies wait for window; received data is acknowledged).

TLS always verifies (the caller passes a context with the CA it trusts).
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

# Request timeouts are checked this often (one timer per connection).
SWEEP_SECONDS = 0.5
# Our receive window: responses are small, but many streams share the connection.
RECEIVE_WINDOW = 16 * 1024 * 1024


class H2Error(Exception):
    pass


class Unprocessed(H2Error):
    """The server did not process the request (refused stream, GOAWAY, connection gone before
    it was sent): resending cannot duplicate."""


class StreamFailed(H2Error):
    """The stream broke after the request went out: it may or may not have been processed."""


@dataclass(slots=True)
class Response:
    status: int
    headers: dict[str, str]
    content: bytes


class _Stream:
    __slots__ = ("future", "status", "headers", "chunks", "pending", "sent", "deadline")

    def __init__(self, future: asyncio.Future):
        self.future = future
        self.status = 0
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.pending = b""  # body bytes waiting for flow-control window
        self.sent = False
        self.deadline = 0.0


class _GracefulGoawayConnection(h2.connection.H2Connection):
    """h2 closes its state machine on receiving GOAWAY and then rejects the answers to the
    streams the server promised to finish (those ≤ last_stream_id; RFC 9113 §6.8) — they
    would be lost and resent, i.e. duplicated. Keep reading them; ``H2Connection.closed``
    stops new streams on this connection instead."""

    def _receive_goaway_frame(self, frame):
        frames, events = super()._receive_goaway_frame(frame)
        self.state_machine.state = h2.connection.ConnectionState.CLIENT_OPEN
        return frames, events


def _expire(future: asyncio.Future) -> None:
    if not future.done():
        future.set_exception(asyncio.TimeoutError())


class H2Connection(asyncio.Protocol):
    def __init__(self, authority: str, max_streams: int):
        self.authority = authority
        self._authority = authority.encode()
        self._sweeper: asyncio.TimerHandle | None = None
        self.cap = max_streams
        # Our own headers are well-formed bytes; skipping h2's per-header checks halves the cost.
        self.conn = _GracefulGoawayConnection(
            h2.config.H2Configuration(
                client_side=True,
                header_encoding=None,
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
                # We read only :status and a few headers of each answer; h2 still checks the
                # framing, so a broken peer fails the connection, not us.
                validate_inbound_headers=False,
                normalize_inbound_headers=False,
            )
        )
        self._flush_scheduled = False
        self.transport: asyncio.Transport | None = None
        self.streams: dict[int, _Stream] = {}
        self.closed = False  # no new streams (GOAWAY received or connection lost)
        self.remote_limit = max_streams
        self._slot_waiters: list[asyncio.Future] = []
        self._ready = asyncio.get_running_loop().create_future()

    # --- asyncio.Protocol ------------------------------------------------------------
    def connection_made(self, transport):
        self.transport = transport
        self.conn.local_settings = h2.settings.Settings(
            client=True,
            initial_values={
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: RECEIVE_WINDOW,
                h2.settings.SettingCodes.ENABLE_PUSH: 0,
            },
        )
        self.conn.initiate_connection()
        self.conn.increment_flow_control_window(RECEIVE_WINDOW)
        transport.write(self.conn.data_to_send())

    def data_received(self, data: bytes):
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            self._fail_all(StreamFailed(f"protocol error: {exc}"))
            self.transport.close()
            return
        for ev in events:
            if isinstance(ev, h2.events.ResponseReceived):
                s = self.streams.get(ev.stream_id)
                if s:
                    for k, v in ev.headers:
                        if k == b":status":
                            s.status = int(v)
                        else:
                            s.headers[k.decode("latin-1")] = v.decode("latin-1")
            elif isinstance(ev, h2.events.DataReceived):
                s = self.streams.get(ev.stream_id)
                if s:
                    s.chunks.append(ev.data)
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                s = self.streams.pop(ev.stream_id, None)
                if s and not s.future.done():
                    s.future.set_result(Response(s.status, s.headers, b"".join(s.chunks)))
                self._release_slot()
            elif isinstance(ev, h2.events.StreamReset):
                s = self.streams.pop(ev.stream_id, None)
                if s and not s.future.done():
                    if ev.error_code == h2.errors.ErrorCodes.REFUSED_STREAM:
                        s.future.set_exception(Unprocessed("stream refused"))
                    else:
                        s.future.set_exception(StreamFailed(f"stream reset: {ev.error_code!r}"))
                self._release_slot()
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.closed = True
                last = ev.last_stream_id if ev.last_stream_id is not None else 0
                for sid in [sid for sid in self.streams if sid > last]:
                    s = self.streams.pop(sid)
                    if not s.future.done():
                        s.future.set_exception(Unprocessed("GOAWAY"))
                self._wake_all()
            elif isinstance(ev, h2.events.RemoteSettingsChanged):
                self.remote_limit = self.conn.remote_settings.max_concurrent_streams
                if not self._ready.done():
                    self._ready.set_result(None)
                self._wake_all()
            elif isinstance(ev, h2.events.WindowUpdated):
                self._flush_pending()
        out = self.conn.data_to_send()
        if out:
            self.transport.write(out)
        if self.closed and not self.streams:
            self.transport.close()

    def connection_lost(self, exc):
        self.closed = True
        for s in self.streams.values():
            if not s.future.done():
                s.future.set_exception(StreamFailed("connection lost") if s.sent else Unprocessed("connection lost"))
        self.streams.clear()
        if not self._ready.done():
            self._ready.set_exception(Unprocessed("connection lost during handshake"))
        self._wake_all()

    # --- streams -----------------------------------------------------------------------
    @property
    def limit(self) -> int:
        return max(1, min(self.cap, self.remote_limit))

    @property
    def free(self) -> int:
        return self.limit - len(self.streams) if not self.closed else 0

    def _release_slot(self) -> None:
        while self._slot_waiters:
            w = self._slot_waiters.pop(0)
            if not w.done():
                w.set_result(None)
                return

    def _wake_all(self) -> None:
        waiters, self._slot_waiters = self._slot_waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    def _fail_all(self, exc: Exception) -> None:
        for s in self.streams.values():
            if not s.future.done():
                s.future.set_exception(exc)
        self.streams.clear()

    def _flush_pending(self) -> None:
        for sid, s in list(self.streams.items()):
            if s.pending:
                self._send_body(sid, s)

    def _send_body(self, sid: int, s: _Stream) -> None:
        data = s.pending
        window = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
        while data and window > 0:
            chunk, data = data[:window], data[window:]
            self.conn.send_data(sid, chunk, end_stream=not data)
            window = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
        s.pending = data

    async def request(self, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes, timeout: float) -> Response:
        while len(self.streams) >= self.limit and not self.closed:
            w = asyncio.get_running_loop().create_future()
            self._slot_waiters.append(w)
            await w
        if self.closed:
            raise Unprocessed("connection closing")
        hdrs = [(b":method", method.encode()), (b":scheme", b"https"), (b":authority", self._authority), (b":path", path.encode())]
        hdrs.extend(headers)
        if body:
            hdrs.append((b"content-length", str(len(body)).encode()))
        try:
            sid = self.conn.get_next_available_stream_id()
            self.conn.send_headers(sid, hdrs, end_stream=not body)
        except h2.exceptions.TooManyStreamsError as exc:
            # h2 still counts a stream we consider finished (e.g. one a GOAWAY cut off):
            # nothing was sent, so the caller may resend on another connection.
            raise Unprocessed(f"no stream available: {exc}") from exc
        except h2.exceptions.ProtocolError as exc:
            self.closed = True
            raise Unprocessed(f"connection not usable: {exc}") from exc
        s = _Stream(asyncio.get_running_loop().create_future())
        self.streams[sid] = s
        if body:
            s.pending = body
            self._send_body(sid, s)
        s.sent = True
        self._schedule_flush()
        loop = asyncio.get_running_loop()
        s.deadline = loop.time() + timeout
        if self._sweeper is None:
            self._sweeper = loop.call_later(SWEEP_SECONDS, self._sweep)
        try:
            return await s.future
        except asyncio.TimeoutError:
            if self.streams.pop(sid, None) is not None:
                try:
                    self.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
                    self.transport.write(self.conn.data_to_send())
                except h2.exceptions.ProtocolError:
                    pass
                self._release_slot()
            raise

    def _sweep(self) -> None:
        """Time out overdue streams: one timer per connection, not one per request."""
        self._sweeper = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        for s in list(self.streams.values()):
            if s.deadline < now:
                _expire(s.future)
        if self.streams:
            self._sweeper = loop.call_later(SWEEP_SECONDS, self._sweep)

    def _schedule_flush(self) -> None:
        # One socket write per event-loop turn for all the streams opened in it: a syscall
        # per request was the largest single cost of a batch.
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        out = self.conn.data_to_send()
        if out and self.transport and not self.transport.is_closing():
            self.transport.write(out)

    def close(self) -> None:
        if self.transport and not self.transport.is_closing():
            try:
                self.conn.close_connection()
                self.transport.write(self.conn.data_to_send())
            except h2.exceptions.ProtocolError:
                pass
            self.transport.close()
        self.closed = True


class H2Pool:
    """``connections`` HTTP/2 connections to one origin, ``max_streams`` streams each."""

    def __init__(self, base_url: str, *, ssl_context: ssl.SSLContext, connections: int = 2, max_streams: int = 100, timeout: float = 30.0):
        u = urlsplit(base_url)
        if u.scheme != "https":
            raise ValueError("HTTP/2 push endpoints are https")
        self.host = u.hostname
        self.port = u.port or 443
        self.authority = u.netloc
        self.ssl = ssl_context
        self.ssl.set_alpn_protocols(["h2"])
        self.size = max(1, connections)
        self.max_streams = max_streams
        self.timeout = timeout
        self._conns: list[H2Connection | None] = [None] * self.size
        self._connecting: list[asyncio.Task | None] = [None] * self.size
        self._rr = 0

    async def _open(self, i: int) -> H2Connection:
        loop = asyncio.get_running_loop()
        _, proto = await asyncio.wait_for(
            loop.create_connection(
                lambda: H2Connection(self.authority, self.max_streams), self.host, self.port, ssl=self.ssl, server_hostname=self.host
            ),
            self.timeout,
        )
        if proto.transport.get_extra_info("ssl_object").selected_alpn_protocol() != "h2":
            proto.close()
            raise H2Error("server did not negotiate HTTP/2")
        try:
            await asyncio.wait_for(asyncio.shield(proto._ready), 5)  # the server's SETTINGS
        except asyncio.TimeoutError:
            pass
        self._conns[i] = proto
        return proto

    async def _conn(self) -> H2Connection:
        # The live connection with most free streams; open or replace closed ones first.
        best = None
        for i in range(self.size):
            c = self._conns[i]
            if c is None or c.closed:
                t = self._connecting[i]
                if t is None or t.done():
                    t = self._connecting[i] = asyncio.ensure_future(self._open(i))
                try:
                    c = await asyncio.shield(t)
                except (OSError, asyncio.TimeoutError, H2Error) as exc:
                    raise Unprocessed(f"connect: {exc}") from exc
            if best is None or c.free > best.free:
                best = c
        if best.free <= 0:  # all busy: spread waiters round-robin
            self._rr = (self._rr + 1) % self.size
            best = self._conns[self._rr] or best
        return best

    async def request(self, method: str, path: str, headers: list[tuple[bytes, bytes]] | list[tuple[str, str]], body: bytes = b"") -> Response:
        """``headers`` as bytes pairs (pre-encoded by a caller that reuses them) or str pairs."""
        if headers and isinstance(headers[0][0], str):
            headers = [(k.encode(), v.encode()) for k, v in headers]
        conn = await self._conn()
        return await conn.request(method, path, headers, body, self.timeout)

    async def aclose(self) -> None:
        for c in self._conns:
            if c:
                c.close()
        self._conns = [None] * self.size
