"""A lean HTTP/1.1 keep-alive load generator for benchmarks on loopback.

A general client (httpx, aiohttp) spends more CPU per request than the server under test,
and on a 2-core machine that would measure the client. This one writes pre-built request
bytes and parses only the status line and Content-Length. Bounded in count and time, and
only ever aimed at 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable


async def _one_connection(
    host, port, make_request: Callable[[int], bytes], deadline, latencies, statuses, conn_id, interval: float | None
):
    reader, writer = await asyncio.open_connection(host, port)
    i = 0
    # Paced mode: requests are due on a fixed schedule and latency counts from when each was
    # due, so a slow server cannot hide its queueing (no coordinated omission).
    next_due = time.perf_counter() + (interval or 0) * (conn_id % 97) / 97
    try:
        while time.perf_counter() < deadline:
            req = make_request(conn_id * 1_000_000 + i)
            i += 1
            if interval:
                now = time.perf_counter()
                if next_due > now:
                    await asyncio.sleep(next_due - now)
                t0 = next_due
                next_due += interval
            else:
                t0 = time.perf_counter()
            writer.write(req)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
                    break
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def run_load(
    host: str, port: int, make_request, *, concurrency: int, seconds: float, rate: float | None = None
) -> dict:
    """Closed loop (each client sends as soon as it has its answer) or, with ``rate``, paced:
    the clients together offer ``rate`` requests per second."""
    assert host in ("127.0.0.1", "localhost", "::1"), "load only ever goes to loopback"
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(
        *(
            _one_connection(
                host, port, make_request, deadline, latencies, statuses, c, concurrency / rate if rate else None
            )
            for c in range(concurrency)
        )
    )
    elapsed = time.perf_counter() - start
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")

    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 3),
        "req_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(pct(0.50), 2),
        "p99_ms": round(pct(0.99), 2),
        "max_ms": round(latencies[-1] * 1000, 2) if latencies else None,
        "over_1s": sum(1 for x in latencies if x > 1.0),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def start_api(env: dict[str, str], port: int, *, workers: int, nice: int = 0, ready_timeout_s: float = 60.0,
              settle_s: float = 0.0) -> subprocess.Popen:
    """``bousai api`` on 127.0.0.1:``port`` with ``env``, at niceness ``nice``; returned once
    ``/readyz`` answers 200 (then ``settle_s`` more, for every uvicorn worker to finish its
    lifespan). Killed, and RuntimeError, when it is not ready within ``ready_timeout_s``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "api", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        env=env, preexec_fn=(lambda: os.nice(nice)) if nice else None,
    )
    deadline = time.time() + ready_timeout_s
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if b" 200 " in s.recv(200):
                    time.sleep(settle_s)
                    return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("api did not become ready")
