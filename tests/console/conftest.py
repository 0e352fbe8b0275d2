"""The console in a real headless Chromium against the real app served by uvicorn."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import httpx
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: str, size: int = 4000) -> str:
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - size))
        return f.read().decode(errors="replace")


@pytest.fixture
def live_server(app, settings):
    """uvicorn on a free loopback port, on this run's database and Redis (``app`` cleans up after)."""
    port = _free_port()
    env = {
        **os.environ,
        "BOUSAI_DATABASE_URL": settings.database_url,
        "BOUSAI_REDIS_URL": settings.redis_url,
        "BOUSAI_STAFF_TOKEN_SECRET": "console-test-secret-" + "x" * 24,
        "BOUSAI_LOG_JSON": "false",
        "BOUSAI_LOG_LEVEL": "WARNING",
        "BOUSAI_DB_POOL_SIZE": "5",
    }
    # The server's log goes to a file: a pipe nobody reads fills up (64 KiB) and then blocks
    # the server in the middle of a request.
    log = tempfile.NamedTemporaryFile(prefix="bousai-console-server-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "server.app:app_factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # two shared cores, other suites running: start-up can be slow
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start: " + _tail(log.name))
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        print("server log (tail):\n" + _tail(log.name))  # shown by pytest when the test failed
        os.unlink(log.name)


@pytest.fixture
def browser():
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("chromium / chromedriver not installed (apt-get install -y chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="bousai-console-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1400,1000", f"--user-data-dir={profile}", "--lang=ja"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


SCREENSHOTS = os.environ.get("BOUSAI_CONSOLE_SCREENSHOTS") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "console-screenshots")


@pytest.fixture
def screenshot():
    """Save what the browser shows as build/console-screenshots/<name>.png (an artifact to look
    at: the tests check the page's structure, a person checks that it reads well)."""
    os.makedirs(SCREENSHOTS, exist_ok=True)

    def shoot(driver, name: str) -> str:
        path = os.path.abspath(os.path.join(SCREENSHOTS, name + ".png"))
        driver.save_screenshot(path)
        return path

    return shoot
