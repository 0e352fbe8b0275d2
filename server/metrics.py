"""Prometheus metrics, shared by every process.

- the api serves ``/metrics`` itself; with several uvicorn workers (``bousai api
  --workers N``) each writes to ``PROMETHEUS_MULTIPROC_DIR`` (set by ``bousai api`` before
  the workers start) and ``/metrics`` sums them, so a scrape sees every worker, not the one
  that happened to answer;
- the worker and the scheduler serve the default registry on their own port
  (``BOUSAI_WORKER_METRICS_PORT`` / ``BOUSAI_SCHEDULER_METRICS_PORT``), started by
  ``server.commands`` when the process starts.

Names follow Prometheus' conventions: ``bousai_`` prefix, base units (``_seconds``,
``_bytes``), ``_total`` on counters.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.responses import Response

log = structlog.get_logger()

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

HTTP_REQUESTS = Counter("bousai_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "bousai_http_request_duration_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


def _registry():
    """The registry to expose: every api worker's files in multiprocess mode, else this process's."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    from prometheus_client import REGISTRY

    return REGISTRY


def metrics_response() -> Response:
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)


def prepare_multiprocess_dir() -> Path | None:
    """Before uvicorn starts several workers: a fresh directory for their metric files.

    An operator's own ``PROMETHEUS_MULTIPROC_DIR`` is used as given and emptied (files of a
    previous run would be summed in); otherwise a temporary one is made and removed at exit.
    Returns the directory to remove, if this call made it.
    """
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        d = Path(given)
        d.mkdir(parents=True, exist_ok=True)
        for f in d.glob("*.db"):
            f.unlink()
        return None
    d = Path(tempfile.mkdtemp(prefix="bousai-metrics-"))
    os.environ[MULTIPROC_ENV] = str(d)
    return d


def remove_multiprocess_dir(d: Path | None) -> None:
    if d is not None:
        shutil.rmtree(d, ignore_errors=True)
        os.environ.pop(MULTIPROC_ENV, None)


def serve_metrics(port: int, host: str, process: str) -> bool:
    """``/metrics`` of this process on its own port, from a daemon thread. False if not served
    (port 0, or taken — e.g. a second worker on the same host without its own port)."""
    if not port:
        return False
    from prometheus_client import start_http_server

    try:
        start_http_server(port, addr=host)
    except OSError as exc:
        log.warning("server.metrics.port_unavailable", process=process, host=host, port=port, error=str(exc))
        return False
    log.info("server.metrics.serving", process=process, host=host, port=port)
    return True


class MetricsMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware overhead on the hot path)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status_holder = {"status": 500}

        async def _send(message):
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            HTTP_REQUESTS.labels(scope["method"], path, str(status_holder["status"])).inc()
            HTTP_LATENCY.labels(path).observe(time.perf_counter() - start)
