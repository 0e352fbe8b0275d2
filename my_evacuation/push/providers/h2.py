"""A small HTTP/2 client for push providers, on the ``jh2`` state machine (a maintained fork of
``h2``, the one httpx uses, with the same API and its HPACK coding and frame parsing compiled).

Why not httpx for the hot path: measured against the local FCM server, httpx/httpcore
spends ~1.5 ms of CPU per HTTP/2 request once 100 streams share a connection (every
waiting stream task contends for the connection's read lock), which caps a worker at a
few hundred messages a second. Push needs one thing done fast — many small POSTs on a few
long-lived connections — so this client does only that:

- a pool of connections; each keeps to ``min(our cap, the server's
  SETTINGS_MAX_CONCURRENT_STREAMS)`` streams, so the server never has to refuse one;
- requests wait in the pool's queue and go out on whichever connection has a free stream
  first — urgent ones (the critical lane's) ahead of every ordinary one already waiting, so
  an EEW's messages never queue behind thousands of an advisory's; a whole batch is queued
  at once (``submit``) and each answer is handed to the request's callback as it arrives:
  no task, future or await per request (those were a third of the client's CPU per message);
- a stream refused by the server (REFUSED_STREAM) or above a GOAWAY's last stream id was
  not processed: it ends as ``Unprocessed`` and the caller resends it safely; the
  connection is replaced after GOAWAY;
- flow control both ways (bodies wait for window; received data is acknowledged).

Why jh2 rather than h2: with our own per-request costs gone, most of the CPU left per message
was h2's pure-Python HPACK and frame handling; on jh2 the sender's CPU per message fell from
~0.095 to ~0.06 ms (``bousai bench push``, same machine). Only this client uses it; httpx (and
the test servers) keep h2, so the two implementations also check each other in the tests.

TLS always verifies (the caller passes a context with the CA it trusts).
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import jh2.config
import jh2.connection
import jh2.errors
import jh2.events
import jh2.exceptions
import jh2.settings

# Request timeouts are checked this often (one timer per connection).
SWEEP_SECONDS = 0.5
# A connection that failed to open is tried again after this, while others carry the requests.
CONNECT_RETRY_SECONDS = 1.0
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


# What a request ends with: its Response, or Unprocessed / StreamFailed / asyncio.TimeoutError.
Outcome = Response | BaseException


class Request:
    """One request: complete header list (pseudo-headers first, as ``H2Pool.headers`` makes
    them), body, and ``on_done(request, outcome)``, called exactly once per submission.
    ``urgent`` requests go out before every ordinary one waiting in the pool."""

    __slots__ = ("headers", "body", "on_done", "tag", "urgent", "status", "resp_headers", "chunks", "pending", "sent", "deadline")

    def __init__(self, headers: list[tuple[bytes, bytes]], body: bytes, on_done: Callable[[Request, Outcome], None], tag=None,
                 urgent: bool = False):
        self.headers = headers
        self.body = body
        self.on_done = on_done
        self.tag = tag  # the caller's own (e.g. the message it carries)
        self.urgent = urgent
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.resp_headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.pending = b""  # body bytes waiting for flow-control window
        self.sent = False
        self.deadline = 0.0


class _GracefulGoawayConnection(jh2.connection.H2Connection):
    """jh2 (as h2) closes its state machine on receiving GOAWAY and then rejects the answers to the
    streams the server promised to finish (those ≤ last_stream_id; RFC 9113 §6.8) — they
    would be lost and resent, i.e. duplicated. Keep reading them; ``H2Connection.closed``
    stops new streams on this connection instead."""

    # Streams jh2 keeps before its walk over them drops the closed ones (see below).
    _sweep_at = 256

    def __init__(self, config, in_flight: Callable[[], int]):
        super().__init__(config)
        self._in_flight = in_flight

    def _receive_goaway_frame(self, frame):
        frames, events = super()._receive_goaway_frame(frame)
        self.state_machine.state = jh2.connection.ConnectionState.CLIENT_OPEN
        return frames, events

    @property
    def open_outbound_streams(self) -> int:
        # jh2 (as h2) counts open streams by walking every stream it keeps, on every new stream —
        # O(streams) per request, a tenth of our CPU per message at 100 streams. It asks only
        # to enforce the server's SETTINGS_MAX_CONCURRENT_STREAMS, which the connection already
        # keeps to by its own count of streams awaiting an answer; jh2's walk (which also drops
        # closed streams from its table) runs only once that table has grown.
        if len(self.streams) >= self._sweep_at:
            self._open_streams(1)
            self._sweep_at = max(256, 2 * len(self.streams))
        return self._in_flight()


class H2Connection(asyncio.Protocol):
    def __init__(self, pool: H2Pool | None, authority: str, max_streams: int):
        self.pool = pool
        self.authority = authority
        self._authority = authority.encode()
        self._sweeper: asyncio.TimerHandle | None = None
        self.cap = max_streams
        self.streams: dict[int, Request] = {}
        # Our own headers are well-formed bytes; skipping jh2's per-header checks halves the cost.
        self.conn = _GracefulGoawayConnection(
            jh2.config.H2Configuration(
                client_side=True,
                header_encoding=None,
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
                # We read only :status and a few headers of each answer; jh2 still checks the
                # framing, so a broken peer fails the connection, not us.
                validate_inbound_headers=False,
                normalize_inbound_headers=False,
            ),
            self.streams.__len__,
        )
        self._flush_scheduled = False
        self.transport: asyncio.Transport | None = None
        self.closed = False  # no new streams (GOAWAY received or connection lost)
        self.remote_limit = max_streams
        self.loop = asyncio.get_running_loop()
        self._ready = self.loop.create_future()

    # --- asyncio.Protocol ------------------------------------------------------------
    def connection_made(self, transport):
        self.transport = transport
        self.conn.local_settings = jh2.settings.Settings(
            client=True,
            initial_values={
                jh2.settings.SettingCodes.INITIAL_WINDOW_SIZE: RECEIVE_WINDOW,
                jh2.settings.SettingCodes.ENABLE_PUSH: 0,
            },
        )
        self.conn.initiate_connection()
        self.conn.increment_flow_control_window(RECEIVE_WINDOW)
        transport.write(self.conn.data_to_send())

    def data_received(self, data: bytes):
        try:
            events = self.conn.receive_data(data)
        except jh2.exceptions.ProtocolError as exc:
            self._fail_all(StreamFailed(f"protocol error: {exc}"))
            self.transport.close()
            return
        streams = self.streams
        finished = False
        received = 0
        for ev in events:
            cls = ev.__class__
            if cls is jh2.events.DataReceived:
                s = streams.get(ev.stream_id)
                if s is not None:
                    s.chunks.append(ev.data)
                if ev.stream_ended is None:
                    self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                else:
                    # An ended stream needs no more window; the connection's is reopened once
                    # below for all of them (one WINDOW_UPDATE, not one per answer).
                    received += ev.flow_controlled_length
            elif cls is jh2.events.ResponseReceived:
                s = streams.get(ev.stream_id)
                if s is not None:
                    for k, v in ev.headers:
                        if k == b":status":
                            s.status = int(v)
                        else:
                            s.resp_headers[k.decode("latin-1")] = v.decode("latin-1")
            elif cls is jh2.events.StreamEnded:
                s = streams.pop(ev.stream_id, None)
                if s is not None:
                    finished = True
                    chunks = s.chunks
                    s.on_done(s, Response(s.status, s.resp_headers, chunks[0] if len(chunks) == 1 else b"".join(chunks)))
            elif cls is jh2.events.StreamReset:
                s = streams.pop(ev.stream_id, None)
                if s is not None:
                    finished = True
                    if ev.error_code == jh2.errors.ErrorCodes.REFUSED_STREAM:
                        s.on_done(s, Unprocessed("stream refused"))
                    else:
                        s.on_done(s, StreamFailed(f"stream reset: {ev.error_code!r}"))
            elif cls is jh2.events.ConnectionTerminated:
                self.closed = True
                finished = True
                last = ev.last_stream_id if ev.last_stream_id is not None else 0
                for sid in [sid for sid in streams if sid > last]:
                    s = streams.pop(sid)
                    s.on_done(s, Unprocessed("GOAWAY"))
            elif cls is jh2.events.RemoteSettingsChanged:
                self.remote_limit = self.conn.remote_settings.max_concurrent_streams
                if not self._ready.done():
                    self._ready.set_result(None)
                finished = True
            elif cls is jh2.events.WindowUpdated:
                self._flush_pending()
        if received:
            self.conn.increment_flow_control_window(received)
        if finished and self.pool is not None:
            self.pool._pump()  # freed streams take the next queued requests
        out = self.conn.data_to_send()
        if out:
            self.transport.write(out)
        if self.closed and not streams:
            self.transport.close()

    def connection_lost(self, exc):
        self.closed = True
        streams = list(self.streams.values())
        self.streams.clear()
        for s in streams:
            s.on_done(s, StreamFailed("connection lost") if s.sent else Unprocessed("connection lost"))
        if not self._ready.done():
            self._ready.set_exception(Unprocessed("connection lost during handshake"))
        if self.pool is not None:
            self.pool._pump()

    # --- streams -----------------------------------------------------------------------
    @property
    def limit(self) -> int:
        return max(1, min(self.cap, self.remote_limit))

    @property
    def free(self) -> int:
        return self.limit - len(self.streams) if not self.closed else 0

    def _fail_all(self, exc: Exception) -> None:
        streams = list(self.streams.values())
        self.streams.clear()
        for s in streams:
            s.on_done(s, exc)

    def _flush_pending(self) -> None:
        for sid, s in list(self.streams.items()):
            if s.pending:
                self._send_body(sid, s)

    def _send_body(self, sid: int, s: Request) -> None:
        data = s.pending
        window = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
        while data and window > 0:
            chunk, data = data[:window], data[window:]
            self.conn.send_data(sid, chunk, end_stream=not data)
            window = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
        s.pending = data

    def send(self, s: Request, deadline: float) -> bool:
        """Open a stream for ``s`` (the caller checked ``free``); it times out at ``deadline``
        (loop time). False, with ``s.on_done`` called, if it could not be sent."""
        if self.closed:
            s.on_done(s, Unprocessed("connection closing"))
            return False
        conn = self.conn
        body = s.body
        try:
            sid = conn.get_next_available_stream_id()
            conn.send_headers(sid, s.headers, end_stream=not body)
        except jh2.exceptions.TooManyStreamsError as exc:
            # jh2 still counts a stream we consider finished (e.g. one a GOAWAY cut off):
            # nothing was sent, so the caller may resend on another connection.
            s.on_done(s, Unprocessed(f"no stream available: {exc}"))
            return False
        except jh2.exceptions.ProtocolError as exc:
            self.closed = True
            s.on_done(s, Unprocessed(f"connection not usable: {exc}"))
            return False
        self.streams[sid] = s
        if body:
            if len(body) <= conn.max_outbound_frame_size and len(body) <= conn.local_flow_control_window(sid):
                conn.send_data(sid, body, end_stream=True)
            else:
                s.pending = body
                self._send_body(sid, s)
        s.sent = True
        s.deadline = deadline
        if self._sweeper is None:
            self._sweeper = self.loop.call_later(SWEEP_SECONDS, self._sweep)
        if not self._flush_scheduled:
            # One socket write per event-loop turn for all the streams opened in it: a syscall
            # per request was the largest single cost of a batch.
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)
        return True

    def _sweep(self) -> None:
        """Time out overdue streams: one timer per connection, not one per request."""
        self._sweeper = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        expired = [(sid, s) for sid, s in self.streams.items() if s.deadline < now]
        for sid, s in expired:
            del self.streams[sid]
            try:
                self.conn.reset_stream(sid, jh2.errors.ErrorCodes.CANCEL)
            except jh2.exceptions.ProtocolError:
                pass
            s.on_done(s, asyncio.TimeoutError())
        if expired:
            self._flush()
            if self.pool is not None:
                self.pool._pump()
        if self.streams:
            self._sweeper = loop.call_later(SWEEP_SECONDS, self._sweep)

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
            except jh2.exceptions.ProtocolError:
                pass
            self.transport.close()
        self.closed = True


class H2Pool:
    """``connections`` HTTP/2 connections to one origin, ``max_streams`` streams each, and
    one queue of requests waiting for a stream."""

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
        # After a failed connect, a slot waits this long before the next try while other
        # connections carry the requests (otherwise every answer would start a new try).
        self._retry_at: list[float] = [0.0] * self.size
        self._queue: collections.deque[Request] = collections.deque()
        self._urgent: collections.deque[Request] = collections.deque()
        self._closed = False

    def headers(self, method: str, path: str, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """The header list of a request to this origin (pseudo-headers first), to reuse."""
        return [(b":method", method.encode()), (b":scheme", b"https"), (b":authority", self.authority.encode()), (b":path", path.encode()), *headers]

    # --- connections -------------------------------------------------------------------
    async def _open(self, i: int) -> H2Connection:
        loop = asyncio.get_running_loop()
        _, proto = await asyncio.wait_for(
            loop.create_connection(
                lambda: H2Connection(self, self.authority, self.max_streams), self.host, self.port, ssl=self.ssl, server_hostname=self.host
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

    def _live(self) -> bool:
        return any(c is not None and not c.closed for c in self._conns)

    def _ensure(self, i: int) -> None:
        """Start opening connection ``i`` unless it is being opened."""
        t = self._connecting[i]
        if t is None or t.done():
            t = self._connecting[i] = asyncio.ensure_future(self._open(i))
            t.add_done_callback(lambda t: self._opened(i, t))

    def _opened(self, i: int, t: asyncio.Task) -> None:
        if t.cancelled():
            return
        exc = t.exception()
        if exc is None:
            self._pump()
            return
        self._retry_at[i] = asyncio.get_running_loop().time() + CONNECT_RETRY_SECONDS
        if self._live():
            self._pump()  # the others carry on
            return
        if any(c is not None and not c.done() for c in self._connecting):
            return  # another connection may still open
        # Nowhere to send: what waits was not sent; its callers decide whether to try again.
        for r in self._take_all():
            r.on_done(r, Unprocessed(f"connect: {exc}"))

    def _take_all(self) -> list[Request]:
        queued = [*self._urgent, *self._queue]
        self._urgent, self._queue = collections.deque(), collections.deque()
        return queued

    async def connect(self) -> None:
        """Open every connection now (otherwise they open with the first requests)."""
        for i in range(self.size):
            c = self._conns[i]
            if c is None or c.closed:
                self._ensure(i)
        for t in self._connecting:
            if t is not None:
                try:
                    await asyncio.shield(t)
                except (OSError, asyncio.TimeoutError, H2Error) as exc:
                    raise Unprocessed(f"connect: {exc}") from exc

    # --- requests ----------------------------------------------------------------------
    def submit(self, requests: list[Request] | tuple[Request, ...]) -> None:
        """Queue requests; each one's ``on_done`` is called with its outcome."""
        if self._closed:
            for r in requests:
                r.on_done(r, Unprocessed("pool closed"))
            return
        for r in requests:
            (self._urgent if r.urgent else self._queue).append(r)
        self._pump()

    def _pump(self) -> None:
        """Hand queued requests to connections with free streams, opening (or replacing
        closed) connections while some wait."""
        urgent, queue = self._urgent, self._queue
        if not (urgent or queue) or self._closed:
            return
        now = asyncio.get_running_loop().time()
        deadline = now + self.timeout
        live = None
        for i in range(self.size):
            c = self._conns[i]
            if c is None or c.closed:
                if now >= self._retry_at[i] or not (live if live is not None else (live := self._live())):
                    self._ensure(i)
                continue
            n = c.free
            while n > 0 and (urgent or queue):
                r = urgent.popleft() if urgent else queue.popleft()
                r._reset()
                if c.send(r, deadline):
                    n -= 1
                elif c.closed:
                    break
            if not (urgent or queue):
                return

    async def request(self, method: str, path: str, headers: list[tuple[bytes, bytes]] | list[tuple[str, str]], body: bytes = b"",
                      *, urgent: bool = False) -> Response:
        """One request; ``headers`` as bytes pairs or str pairs. Raises Unprocessed,
        StreamFailed or asyncio.TimeoutError."""
        if headers and isinstance(headers[0][0], str):
            headers = [(k.encode(), v.encode()) for k, v in headers]
        hdrs = self.headers(method, path, headers)
        if body:
            hdrs.append((b"content-length", str(len(body)).encode()))
        fut = asyncio.get_running_loop().create_future()
        self.submit((Request(hdrs, body, lambda _r, out: fut.done() or fut.set_result(out), urgent=urgent),))
        out = await fut
        if isinstance(out, BaseException):
            raise out
        return out

    async def aclose(self) -> None:
        self._closed = True
        for t in self._connecting:
            if t is not None and not t.done():
                t.cancel()
        for c in self._conns:
            if c:
                c.close()
        self._conns = [None] * self.size
        for r in self._take_all():
            r.on_done(r, Unprocessed("pool closed"))
