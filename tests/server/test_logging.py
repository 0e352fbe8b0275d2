"""One JSON log stream: structlog events and stdlib loggers render alike, APScheduler's per-run
chatter is quiet, and every request gets an id that its log lines and response carry."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import structlog
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from server.logging import RequestIdMiddleware, configure_logging

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_logs(capsys):
    """JSON logs at INFO into this test's captured stderr; quiet plain logs again afterwards."""
    configure_logging("INFO", json=True)
    yield lambda: [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    configure_logging("WARNING", json=False)


def test_structlog_and_stdlib_lines_are_one_json_stream(json_logs):
    structlog.get_logger("server.test").info("server.test.event", answer=42)
    logging.getLogger("sqlalchemy.pool").warning("pool %s is %s", "main", "exhausted")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("uvicorn.error").exception("while serving")
    lines = json_logs()
    assert [(x["event"], x["level"], x["logger"]) for x in lines] == [
        ("server.test.event", "info", "server.test"),
        ("pool main is exhausted", "warning", "sqlalchemy.pool"),
        ("while serving", "error", "uvicorn.error"),
    ]
    assert lines[0]["answer"] == 42 and all("timestamp" in x for x in lines)
    assert "ValueError: boom" in lines[2]["exception"]


def test_apscheduler_job_chatter_is_quiet_but_its_warnings_show(json_logs):
    logging.getLogger("apscheduler.executors.default").info('Running job "feeds.poll" (scheduled at ...)')
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed by 0:00:03")
    assert [x["event"] for x in json_logs()] == ["Run time of job was missed by 0:00:03"]


def test_a_uvicorn_started_with_its_own_log_config_joins_the_stream(capsys):
    import logging.config

    from uvicorn.config import LOGGING_CONFIG

    logging.config.dictConfig(LOGGING_CONFIG)  # what an in-process uvicorn.Server does
    try:
        configure_logging("INFO", json=True)
        logging.getLogger("uvicorn.error").warning("Started server process")
        assert [json.loads(line)["logger"] for line in capsys.readouterr().err.splitlines()] == ["uvicorn.error"]
    finally:
        configure_logging("WARNING", json=False)


def test_configuring_twice_keeps_one_handler(json_logs):
    configure_logging("INFO", json=True)
    structlog.get_logger("server.test").info("server.test.once")
    assert [x["event"] for x in json_logs()] == ["server.test.once"]


async def _logging_app():
    async def endpoint(request):
        structlog.get_logger("server.test").info("server.test.in_request")
        return PlainTextResponse("ok")

    return RequestIdMiddleware(Starlette(routes=[Route("/", endpoint)]))


async def test_each_request_gets_an_id_in_its_log_lines_and_response(json_logs):
    app = await _logging_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        given = await c.get("/", headers={"X-Request-ID": "lb-7f3a.1"})
        fresh = await c.get("/")
        hostile = await c.get("/", headers={"X-Request-ID": "x\" injected=1 " + "a" * 200})
    lines = [x for x in json_logs() if x["event"] == "server.test.in_request"]
    assert given.headers["x-request-id"] == "lb-7f3a.1"
    assert len(fresh.headers["x-request-id"]) == 32
    assert hostile.headers["x-request-id"] != fresh.headers["x-request-id"]
    assert len(hostile.headers["x-request-id"]) == 32  # replaced, never echoed
    assert [x["request_id"] for x in lines] == [r.headers["x-request-id"] for r in (given, fresh, hostile)]


async def test_the_app_returns_a_request_id(client):
    r = await client.get("/healthz", headers={"X-Request-ID": "probe-1"})
    assert r.headers["x-request-id"] == "probe-1"


def test_api_process_writes_only_json_lines(db_url):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOUSAI_")}
    env.update(BOUSAI_DATABASE_URL=db_url, BOUSAI_REDIS_URL=os.environ.get("BOUSAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
               BOUSAI_LOG_LEVEL="INFO", BOUSAI_LOG_JSON="true", BOUSAI_STAFF_TOKEN_SECRET="logging-test-secret-0123456789abcdef")
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "api", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]  # any plain line fails here
    assert "server.started" in [x["event"] for x in lines]
    assert all({"event", "level", "timestamp"} <= x.keys() for x in lines)
