"""The wheel alone runs: built from the working tree, installed outside the checkout, it sets
up a scratch database (migrations, areas, shelters from package data), serves ``/readyz``
and ``/docs``, and finds the demo scenario.

Kept fast for CI on a fresh clone: the wheel is built without build isolation (setuptools
and wheel come with the ``[test]`` extra) and installed with ``--no-deps`` into a fresh venv
whose third-party dependencies are this venv's site-packages, appended by a ``.pth`` line
(so nothing is downloaded; the checkout itself is not on the path). That the wheel's own
requirements are met by those versions is checked from the installed metadata. Set
``BOUSAI_TEST_WHEEL_FULL_INSTALL=1`` to let pip resolve and install every dependency into
the fresh venv instead (network, minutes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import pytest

from server.dbsetup import drop_database
from testkit.standins.serving import free_port

REPO = Path(__file__).resolve().parents[2]
TEST_PG = os.environ.get("BOUSAI_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432")
TEST_REDIS_URL = os.environ.get("BOUSAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# What a checkout carries that a build must not see (stale build/lib copies would ship).
_NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "node_modules")



def _run(cmd, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """A fresh venv outside the checkout with the wheel installed; returns its paths and env."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(REPO, src, ignore=_NOT_SOURCE)
    dist = tmp / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist), str(src)])
    (wheel,) = dist.glob("bousai-*.whl")
    venv = tmp / "venv"
    full = os.environ.get("BOUSAI_TEST_WHEEL_FULL_INSTALL") == "1"
    _run([sys.executable, "-m", "venv", *([] if full else ["--without-pip"]), str(venv)])
    py = venv / "bin" / "python"
    if full:
        _run([str(py), "-m", "pip", "install", "-q", str(wheel)])
    else:
        _run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", str(wheel)])
        purelib = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
        ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
        (purelib / "zz_bousai_test_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOUSAI_", "PYTHON", "VIRTUAL_ENV"))}
    db_url = f"{TEST_PG}/bousai_wheel_{os.getpid()}"
    env.update(
        BOUSAI_DATABASE_URL=db_url,
        BOUSAI_REDIS_URL=TEST_REDIS_URL,
        BOUSAI_STAFF_TOKEN_SECRET="wheel-test-secret-0123456789abcdef",
        BOUSAI_LOG_LEVEL="WARNING",
    )
    run_dir = tmp / "elsewhere"
    run_dir.mkdir()
    yield {"venv": venv, "py": py, "env": env, "cwd": run_dir, "db_url": db_url, "wheel": wheel}
    drop_database(db_url)


def test_installed_package_is_imported_from_the_venv_not_the_checkout(installed):
    out = _run(
        [str(installed["py"]), "-c", "import server, fixtures, alerts; print(server.__file__); print(fixtures.__file__)"],
        env=installed["env"], cwd=installed["cwd"],
    ).stdout.split()
    assert all(p.startswith(str(installed["venv"])) for p in out), out


def test_the_test_kit_is_not_in_the_wheel(installed):
    """Stand-ins and benchmarks stay out of the product: not importable from the wheel, and
    ``bousai bench`` says where it runs instead of failing."""
    probe = subprocess.run([str(installed["py"]), "-c", "import testkit"], env=installed["env"], cwd=installed["cwd"],
                           capture_output=True, text=True)
    assert probe.returncode != 0 and "No module named 'testkit'" in probe.stderr
    out = _run([str(installed["py"]), "-m", "server.cli", "bench", "--help"], env=installed["env"], cwd=installed["cwd"])
    assert "[bench] extra" in out.stdout


def test_wheel_requirements_are_met_by_the_dependencies_it_runs_with(installed):
    check = (
        "from importlib.metadata import requires, version, PackageNotFoundError\n"
        "from packaging.requirements import Requirement\n"
        "bad = []\n"
        "for r in map(Requirement, requires('bousai')):\n"
        "    if r.marker and not r.marker.evaluate({'extra': ''}): continue\n"
        "    try: v = version(r.name)\n"
        "    except PackageNotFoundError: bad.append(f'{r}: missing'); continue\n"
        "    if not r.specifier.contains(v, prereleases=True): bad.append(f'{r}: {v}')\n"
        "print('\\n'.join(bad))\n"
    )
    assert _run([str(installed["py"]), "-c", check], env=installed["env"], cwd=installed["cwd"]).stdout.strip() == ""


def test_wheel_carries_the_reference_data_migrations_and_console(installed):
    check = (
        "from server.resources import fixtures_dir, migrations_dir\n"
        "from alerts.feeds.replay import load_scenario\n"
        "import alerts.console.api as c\n"
        "s = load_scenario('fukushima_quake_then_rain')\n"
        "assert all((s.folder / d.file).is_file() for d in s.documents)\n"
        "assert (fixtures_dir() / 'areas' / 'fukushima_areas.json').is_file()\n"
        "assert (fixtures_dir() / 'shelters' / 'fukushima_shelters.jsonl.gz').is_file()\n"
        "assert (migrations_dir() / 'script.py.mako').is_file() and any(migrations_dir().glob('versions/*.py'))\n"
        "assert (c.STATIC / 'index.html').is_file()\n"
        "print(len(s.documents))\n"
    )
    assert int(_run([str(installed["py"]), "-c", check], env=installed["env"], cwd=installed["cwd"]).stdout) > 0


def test_installed_setup_then_api_serves_readyz_and_docs(installed):
    bousai = str(installed["venv"] / "bin" / "bousai")
    env, cwd = installed["env"], installed["cwd"]
    out = _run([bousai, "setup"], env=env, cwd=cwd, timeout=600).stdout
    assert "migrations at head" in out and "areas loaded" in out and "shelters loaded" in out, out
    port = free_port()
    api = subprocess.Popen(
        [bousai, "api", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 90
        ready = None
        while time.monotonic() < deadline and api.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        assert api.poll() is None, api.stdout.read()
        assert ready is not None and ready.status_code == 200, ready and ready.text
        docs = httpx.get(f"http://127.0.0.1:{port}/docs", timeout=5)
        assert docs.status_code == 200
        assert "openapi.json" in docs.text
    finally:
        api.terminate()
        try:
            api.wait(timeout=15)
        except subprocess.TimeoutExpired:
            api.kill()
    # what compose's health checks and an operator run, from the installed package
    assert _run([bousai, "pushes", "tail", "-n", "1"], env=env, cwd=cwd).returncode == 0
    health = subprocess.run([str(installed["py"]), "-m", "server.process_health", "worker", "--name", "none"],
                            env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
    assert health.returncode == 1 and "no heartbeat" in health.stderr
