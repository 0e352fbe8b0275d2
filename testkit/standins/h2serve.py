"""An in-process HTTP/2-over-TLS server (on the ``h2`` state machine) for the local
protocol servers' ASGI apps in tests, where a test reads and sets the server's state
directly (a thread of the test process).

It announces SETTINGS_MAX_CONCURRENT_STREAMS (a client opening more anyway is a protocol
error to h2: the connection ends) and can send GOAWAY after N requests per connection, to
test a sender against connection recycling. It implements just what those apps use: one
request body in one ``http.request`` event, one response. At ~0.15 ms of CPU per request
it is not the load target of the benchmarks: they run the stand-ins in a process of their
own on granian (Rust, hyper's HTTP/2), see ``fcm_server.main``.

An app may also carry a synchronous ``app.fast(method, path, headers, body, peer)`` that
returns ``(status, headers, body)``, or None for "not mine": the server tries it first and
builds an ASGI scope and coroutine only when it declines (a load target's hot route need
not pay for ASGI's machinery on every request).
"""

from __future__ import annotations

import asyncio
import ssl

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
from hyperframe.frame import GoAwayFrame

_STATUS = {n: str(n).encode() for n in (200, 400, 401, 403, 404, 410, 413, 429, 500, 503)}


class _ServerConnection(asyncio.Protocol):
    def __init__(self, app, max_streams: int, goaway_after: int | None):
        self.app = app
        self.fast = getattr(app, "fast", None)
        self.max_streams = max_streams
        self.goaway_after = goaway_after
        # Header validation off: this is a load target for well-behaved clients (httpx, our
        # h2 client), and h2's per-header checks were a fifth of its CPU per request.
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(
                client_side=False,
                header_encoding=None,
                validate_inbound_headers=False,
                normalize_inbound_headers=False,
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
            )
        )
        self.requests: dict[int, tuple[list, list[bytes]]] = {}
        self.active = 0
        self.served = 0
        self.goaway_sent = False
        self.pending: dict[int, bytes] = {}
        self.transport = None
        self.peer = None
        self.flush_scheduled = False

    def connection_made(self, transport):
        self.transport = transport
        self.peer = transport.get_extra_info("peername")
        ssl_object = transport.get_extra_info("ssl_object")
        self.http11 = ssl_object is not None and ssl_object.selected_alpn_protocol() != "h2"
        self.buffer = b""
        if self.http11:
            return
        self.conn.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: self.max_streams,
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1 << 20,
            },
        )
        self.conn.initiate_connection()
        self.conn.increment_flow_control_window(1 << 24)
        transport.write(self.conn.data_to_send())

    def _http11(self, data: bytes) -> None:
        """Just enough HTTP/1.1 for clients without HTTP/2 (google-auth's token request):
        one request per connection, Content-Length bodies."""
        self.buffer += data
        head, sep, rest = self.buffer.partition(b"\r\n\r\n")
        if not sep:
            return
        lines = head.split(b"\r\n")
        method, target, _ = lines[0].split(b" ", 2)
        headers = [(b":method", method), (b":path", target)]
        length = 0
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            headers.append((k.strip().lower(), v.strip()))
            if k.strip().lower() == b"content-length":
                length = int(v.strip())
        if len(rest) < length:
            return
        self.buffer = b""
        self.requests[1] = (headers, None)
        self.active += 1
        asyncio.ensure_future(self._run(1, headers, rest[:length]))

    def data_received(self, data):
        if self.http11:
            return self._http11(data)
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            self.transport.write(self.conn.data_to_send())
            self.transport.close()
            return
        received = 0
        for ev in events:
            if isinstance(ev, h2.events.DataReceived):
                req = self.requests.get(ev.stream_id)
                if req is not None and req[1] is not None:
                    req[1].append(ev.data)
                if ev.stream_ended is None:
                    # More of this body is coming: reopen the stream's window for it.
                    self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                else:
                    # A stream that ended needs no window; the connection's is reopened once
                    # for all of them below (one WINDOW_UPDATE instead of one per request).
                    received += ev.flow_controlled_length
            elif isinstance(ev, h2.events.StreamEnded):
                req = self.requests.get(ev.stream_id)
                if req is not None and req[1] is not None:
                    self._dispatch(ev.stream_id)
            elif isinstance(ev, h2.events.RequestReceived):
                if self.goaway_sent:
                    # Above our GOAWAY's last stream id: ignored, as RFC 9113 §6.8 allows; the
                    # client knows from the GOAWAY it was never processed and resends it.
                    continue
                if self.active >= self.max_streams:
                    self.conn.reset_stream(ev.stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
                    continue
                self.active += 1
                # Dispatched on the StreamEnded that follows (h2 sends one for a HEADERS
                # frame that ends the stream too).
                self.requests[ev.stream_id] = (ev.headers, [])
            elif isinstance(ev, h2.events.StreamReset):
                if self.requests.pop(ev.stream_id, None) is not None:
                    self.active -= 1
            elif isinstance(ev, h2.events.WindowUpdated):
                for sid in list(self.pending):
                    self._send_body(sid, self.pending.pop(sid))
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.transport.close()
        if received:
            self.conn.increment_flow_control_window(received)
        self._flush()

    def _schedule_flush(self):
        if not self.flush_scheduled:
            self.flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self):
        self.flush_scheduled = False
        out = self.conn.data_to_send()
        if out and not self.transport.is_closing():
            self.transport.write(out)

    def _dispatch(self, sid: int) -> None:
        headers, chunks = self.requests[sid]
        self.served += 1
        if self.goaway_after and self.served >= self.goaway_after and not self.goaway_sent:
            self.goaway_sent = True
            # Every stream already opened is answered; only later ones are refused by the GOAWAY.
            # Written by hand: h2's close_connection() would also stop us answering them.
            frame = GoAwayFrame(stream_id=0)
            frame.last_stream_id = max(self.requests)
            frame.error_code = 0
            self._flush()
            self.transport.write(frame.serialize())
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if self.fast is not None:
            method = path = None
            for k, v in headers:
                if k == b":method":
                    method = v
                elif k == b":path":
                    path = v
            answer = self.fast(method, path, headers, body, self.peer)
            if answer is not None:
                self._respond(sid, *answer)
                return
        # The request is dispatched once: a handler that suspends is still in self.requests
        # when a later event for its stream arrives.
        self.requests[sid] = (headers, None)
        coro = self._run(sid, headers, body)
        # Most answers need no await: run the handler inline and make a task only if it
        # actually suspends (a delay, a slow answer) — a task per request is a large share
        # of a small server's CPU.
        try:
            fut = coro.send(None)
        except StopIteration:
            return
        asyncio.ensure_future(_Resume(coro, fut).run())

    async def _run(self, sid: int, headers, body: bytes) -> None:
        pseudo = {}
        plain = []
        for k, v in headers:
            if k.startswith(b":"):
                pseudo[k] = v.decode("latin-1")
            else:
                plain.append((k.lower(), v))
        path, _, query = pseudo.get(b":path", "/").partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "2",
            "method": pseudo.get(b":method", "GET"),
            "scheme": "https",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "headers": plain,
            "client": self.peer,
            "server": None,
        }
        sent_body = False

        async def receive():
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()

        status_holder = {}

        async def send(message):
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                # _respond sets content-length itself.
                status_holder["headers"] = [(k, v) for k, v in message.get("headers", []) if k != b"content-length"]
            elif message["type"] == "http.response.body":
                self._respond(sid, status_holder["status"], status_holder["headers"], message.get("body", b""))

        try:
            await self.app(scope, receive, send)
        except Exception:  # noqa: BLE001 - a test server answers 500 rather than hanging the stream
            if "status" not in status_holder:
                self._respond(sid, 500, [], b"")

    def _respond(self, sid: int, status: int, headers, body: bytes) -> None:
        if self.requests.pop(sid, None) is None:
            return  # reset by the client meanwhile
        self.active -= 1
        if self.transport.is_closing():
            return
        if self.http11:
            lines = [f"HTTP/1.1 {status} X".encode()]
            lines += [k + b": " + v for k, v in headers if k != b"content-length"]
            lines += [b"content-length: " + str(len(body)).encode(), b"connection: close"]
            self.transport.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
            self.transport.close()
            return
        try:
            hdrs = [(b":status", _STATUS.get(status) or str(status).encode())]
            hdrs.extend(headers)
            hdrs.append((b"content-length", str(len(body)).encode()))
            self.conn.send_headers(sid, hdrs, end_stream=not body)
            if body:
                self._send_body(sid, body)
        except h2.exceptions.ProtocolError:
            pass
        if self.goaway_sent and self.active == 0:
            self._flush()  # the last answers go out before the connection closes
            self.transport.close()
        else:
            self._schedule_flush()

    def _send_body(self, sid: int, data: bytes) -> None:
        try:
            window = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
            while data and window > 0:
                chunk, data = data[:window], data[window:]
                self.conn.send_data(sid, chunk, end_stream=not data)
                window = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
        except h2.exceptions.ProtocolError:
            return
        if data:
            self.pending[sid] = data
        self._schedule_flush()


class _Resume:
    """Continue a coroutine that suspended on its first step, as a task."""

    def __init__(self, coro, first):
        self.coro = coro
        self.first = first

    async def run(self):
        value = await _Yield(self.first)
        while True:
            try:
                nxt = self.coro.send(value)
            except StopIteration:
                return
            value = await _Yield(nxt)


class _Yield:
    def __init__(self, fut):
        self.fut = fut

    def __await__(self):
        return (yield self.fut)


async def serve_h2(app, host: str, port: int, ssl_context: ssl.SSLContext, *, max_streams: int = 100, goaway_after: int | None = None):
    """Start serving; returns the asyncio Server (close() + wait_closed() to stop)."""
    ssl_context.set_alpn_protocols(["h2", "http/1.1"])
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: _ServerConnection(app, max_streams, goaway_after), host, port, ssl=ssl_context, backlog=1024
    )


def server_ssl_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert_file, key_file)
    return ctx
