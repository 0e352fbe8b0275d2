"""Metrics from every process: the worker and the scheduler serve their own ``/metrics``
(push results, feed lag, job runs) and keep a heartbeat that ``bousai health`` checks; an
api with two uvicorn workers counts every request once, whichever worker answered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.kits.db import TEST_REDIS_URL
from testkit.standins.serving import free_port

REPO = Path(__file__).resolve().parents[2]



def _env(db_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOUSAI_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(
        BOUSAI_DATABASE_URL=db_url,
        BOUSAI_REDIS_URL=TEST_REDIS_URL,
        BOUSAI_JMA_FEEDS="[]",  # no network: the scheduler's poll job has nothing to fetch
        BOUSAI_CAP_FEEDS="[]",
        BOUSAI_LOG_LEVEL="WARNING",
        BOUSAI_STAFF_TOKEN_SECRET="metrics-test-secret-0123456789abcdef",
    )
    return env


def _bousai(*args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "server.cli", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _health(role: str, name: str, env: dict) -> int:
    return subprocess.run([sys.executable, "-m", "server.cli", "health", role, "--name", name],
                          cwd=REPO, env=env, capture_output=True, timeout=60).returncode


def _wait_for(url: str, proc: subprocess.Popen, seconds: float = 60) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        try:
            r = httpx.get(url, timeout=2)
            if r.status_code == 200:
                return r
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never answered")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _eventually(check, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return False


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("worker", ["bousai_push_results_total", "bousai_push_dead_tokens_total", "bousai_worker_entries_total"]),
        ("scheduler", ["bousai_scheduler_job_runs_total", "bousai_feed_lag_seconds"]),
    ],
)
def test_process_serves_its_own_metrics_and_heartbeat_until_it_stops(db_url, role, expected):
    env = _env(db_url)
    port, name = free_port(), f"metrics-test-{role}-{os.getpid()}"
    proc = _bousai(role, "--name", name, "--metrics-port", str(port), env=env)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        _wait_for(url, proc)
        # the port opens first; the metrics appear as the process imports its work modules
        assert _eventually(lambda: all(f"# TYPE {m} " in httpx.get(url, timeout=2).text for m in expected)), \
            httpx.get(url, timeout=2).text
        assert _eventually(lambda: _health(role, name, env) == 0)
    finally:
        _stop(proc)
    assert proc.returncode == 0
    assert _health(role, name, env) == 1  # a stopped process has no heartbeat


def test_health_fails_for_a_process_that_never_started(db_url):
    assert _health("worker", "nobody-here", _env(db_url)) == 1


def test_api_with_two_workers_counts_every_request_once(db_url):
    env = _env(db_url)
    port = free_port()
    proc = _bousai("api", "--host", "127.0.0.1", "--port", str(port), "--workers", "2", env=env)
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz", proc, seconds=90)
        n = 40
        for _ in range(n):  # a new connection each: the kernel spreads them over both workers
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        count = sum(
            float(line.rsplit(" ", 1)[1])
            for line in body.splitlines()
            if line.startswith("bousai_http_requests_total{") and 'route="/healthz"' in line
        )
        assert count >= n + 1  # every request (and the start-up probe) from both workers, summed
        assert "bousai_http_request_duration_seconds_bucket" in body
    finally:
        _stop(proc)
