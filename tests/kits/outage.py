"""Outages on loopback, without touching the machine's Postgres or Redis.

``PostgresProxy`` sits between an app and the real Postgres: ``forward`` relays bytes;
``silent`` accepts and never answers (and stops relaying on open connections: a database
that hangs); ``refuse`` closes its port and resets every open connection (a database that is
down). ``closed_port()`` is a loopback port nobody listens on (Redis down).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from urllib.parse import urlsplit, urlunsplit


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresProxy:
    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        self.target_url = target_url
        self.target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self.mode = "forward"
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> PostgresProxy:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        parts = urlsplit(self.target_url)
        netloc = parts.netloc.rsplit("@", 1)
        auth = netloc[0] + "@" if len(netloc) == 2 else ""
        return urlunsplit((parts.scheme, f"{auth}127.0.0.1:{self.port}", parts.path, parts.query, parts.fragment))

    def go_silent(self) -> None:
        self.mode = "silent"
        self._flowing.clear()

    def refuse(self) -> None:
        self.mode = "refuse"
        self.server.close()
        for w in list(self._writers):
            w.transport.abort()
        self._flowing.set()

    async def stop(self) -> None:
        if self.mode != "refuse":
            self.refuse()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        if self.mode != "forward":
            return  # held open, never answered (silent), or about to be reset (refuse)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(src, dst))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError, ConnectionError):
            while True:
                data = await src.read(65536)
                await self._flowing.wait()  # silent: what was read is never passed on
                if not data or self.mode == "refuse":
                    break
                dst.write(data)
                await dst.drain()
        dst.transport.abort()
