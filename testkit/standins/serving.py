"""Run a local protocol server (an ASGI app under hypercorn, HTTP/2 over TLS).

Two ways, both started and stopped by the test or benchmark that needs them:

- ``ServerThread``: in a background thread of this process (tests: cheap, state shared
  in memory).
- ``ServerProcess``: in a process of its own (benchmarks: the server does not share the
  client's GIL); it is controlled over HTTP through the server's ``/_control`` routes.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from testkit.standins.certs import TlsFiles, client_ssl_context


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hypercorn_config(
    port: int, tls: TlsFiles, *, max_streams: int = 100, keep_alive_max_requests: int = 10**9
):
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.certfile = str(tls.cert_file)
    config.keyfile = str(tls.key_file)
    config.alpn_protocols = ["h2", "http/1.1"]
    # SETTINGS_MAX_CONCURRENT_STREAMS: FCM and APNs both announce a limit per connection.
    config.h2_max_concurrent_streams = max_streams
    # hypercorn closes a connection after 1000 requests by default (a GOAWAY on HTTP/2);
    # a protocol server under load test must not, unless the test asks for it.
    config.keep_alive_max_requests = keep_alive_max_requests
    config.keep_alive_timeout = 60
    config.backlog = 1024
    config.accesslog = None
    config.errorlog = None
    config.loglevel = "WARNING"
    return config


class ServerThread:
    """An ASGI app served by hypercorn on 127.0.0.1 in a daemon thread."""

    def __init__(
        self,
        app,
        tls: TlsFiles,
        *,
        max_streams: int = 100,
        keep_alive_max_requests: int = 10**9,
        engine: str = "h2",
    ):
        """``engine``: "h2" (lean HTTP/2 only, ``h2serve``) or "hypercorn" (HTTP/1.1 and HTTP/2)."""
        self.app = app
        self.engine = engine
        self.max_streams = max_streams
        self.goaway_after = keep_alive_max_requests if keep_alive_max_requests < 10**9 else None
        self.tls = tls
        self.port = free_port()
        self.config = hypercorn_config(
            self.port, tls, max_streams=max_streams, keep_alive_max_requests=keep_alive_max_requests
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name=f"push-testserver-{self.port}", daemon=True)
        self._started = threading.Event()

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def _run(self) -> None:
        from hypercorn.asyncio import serve

        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._stop = asyncio.Event()
        loop.call_soon(self._started.set)
        if self.engine == "h2":
            loop.run_until_complete(run_h2(self.app, self.port, self.tls, self.max_streams, self.goaway_after, self._stop.wait))
        else:
            loop.run_until_complete(serve(self.app, self.config, shutdown_trigger=self._stop.wait))
        loop.close()

    def start(self) -> ServerThread:
        self._thread.start()
        self._started.wait(10)
        wait_until_listening(self.port)
        return self

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def wait_until_listening(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"local server on port {port} did not start")


class ServerProcess:
    """``python -m <module> --port P --tls-dir D [args]`` in a child process."""

    def __init__(self, module: str, tls: TlsFiles, args: list[str] | None = None):
        self.module = module
        self.tls = tls
        self.port = free_port()
        self.args = args or []
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        cmd = [sys.executable, "-m", self.module, "--port", str(self.port), "--tls-dir", str(self.tls.ca_file.parent)]
        self.proc = subprocess.Popen(cmd + self.args, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            wait_until_listening(self.port)
        except RuntimeError:
            self.stop()
            raise
        return self

    def control_client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, verify=client_ssl_context(self.tls.ca_file), timeout=30, http2=True)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


async def run_h2(app, port: int, tls: TlsFiles, max_streams: int, goaway_after: int | None, until) -> None:
    from testkit.standins.h2serve import serve_h2, server_ssl_context

    srv = await serve_h2(
        app, "127.0.0.1", port, server_ssl_context(str(tls.cert_file), str(tls.key_file)),
        max_streams=max_streams, goaway_after=goaway_after,
    )
    try:
        await until()
    finally:
        srv.close()


async def orphan_watch() -> None:
    """Shutdown trigger for a server process: returns when the parent that started it is gone,
    so a crashed test or benchmark never leaves a server behind."""
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(0.5)


def tls_from_dir(directory: str | Path) -> TlsFiles:
    d = Path(directory)
    return TlsFiles(d / "ca.pem", d / "server.pem", d / "server.key")
