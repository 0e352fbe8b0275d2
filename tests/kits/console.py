"""The console in a real headless Chromium against the real app served by uvicorn (a pytest plugin:
live_server, browser, screenshot), and the steps the console tests take in it."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time

import httpx
import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.kits.staff import PASSWORD
from testkit.standins.serving import free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"



def _tail(path: str, size: int = 4000) -> str:
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - size))
        return f.read().decode(errors="replace")


@pytest.fixture
def live_server(app, settings):
    """uvicorn on a free loopback port, on this run's database and Redis (``app`` cleans up after)."""
    port = free_port()
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


WAIT = 30


def console_state(driver) -> str:
    """What the console shows, for a failure message."""
    def text(id_):
        found = driver.find_elements(By.ID, id_)
        return found[0].text if found else None
    tabs = [s.get_attribute("id") for s in driver.find_elements(By.CSS_SELECTOR, ".tab") if s.is_displayed()]
    rows = [(r.get_attribute("data-id"), r.get_attribute("data-state")) for r in driver.find_elements(By.CSS_SELECTOR, "#notices tr[data-id]")]
    return f"flash: {text('flash')!r}; compose error: {text('compose-error')!r}; tabs shown: {tabs}; notice rows: {rows}"


def wait_for(driver, cond):
    try:
        return WebDriverWait(driver, WAIT).until(cond)
    except Exception as exc:
        raise AssertionError(f"console did not get there; {console_state(driver)}") from exc


def click_until(driver, css, done, attempts=3):
    """Click the (freshly found) button until ``done``: the table re-renders after every refresh,
    so a click can land on a row that is being replaced. Repeats are harmless (409 at worst)."""
    for i in range(attempts):
        try:
            WebDriverWait(driver, WAIT).until(EC.element_to_be_clickable((By.CSS_SELECTOR, css))).click()
            WebDriverWait(driver, 10).until(done)
            return
        except Exception as exc:
            if i == attempts - 1:
                raise AssertionError(f"{css}: no effect; {console_state(driver)}") from exc


def sign_in(driver, base, username):
    driver.get(base + "/console/")
    wait_for(driver, EC.visibility_of_element_located((By.ID, "login-username"))).send_keys(username)
    driver.find_element(By.ID, "login-password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    wait_for(driver, EC.visibility_of_element_located((By.ID, "app-view")))
    wait_for(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#map path.muni")) >= 59)


def sign_out(driver):
    driver.find_element(By.ID, "logout").click()
    wait_for(driver, EC.visibility_of_element_located((By.ID, "login-username")))


def row_state(driver, notice_id):
    try:
        return driver.find_element(By.CSS_SELECTOR, f"#notices tr[data-id='{notice_id}']").get_attribute("data-state")
    except (NoSuchElementException, StaleElementReferenceException):
        return None  # the table is being re-rendered


async def in_thread(fn, *args):
    return await asyncio.to_thread(fn, *args)
