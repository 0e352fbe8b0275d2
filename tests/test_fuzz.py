"""Schema-driven fuzzing (schemathesis) of every operation in the app's OpenAPI, against
`bousai api` in a process of its own on this run's scratch database, with a resident token
and staff tokens (prefecture staff; an administrator for the account and audit routes):
no answer is a 5xx and every documented answer matches its schema (issue 12).

Bounded and derandomized so it fits the suite: ``BOUSAI_FUZZ_EXAMPLES`` valid and
``BOUSAI_FUZZ_NEGATIVE`` invalid examples per operation (3 and 2 by default, ~500 requests,
well under two minutes). The big run is the same test with more, e.g.
``BOUSAI_FUZZ_EXAMPLES=60 BOUSAI_FUZZ_NEGATIVE=30 pytest tests/test_fuzz.py``; every finding
is printed as the exact request (method, path, query, body) that produced it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter

import pytest

schemathesis = pytest.importorskip("schemathesis")
requests = pytest.importorskip("requests")

from hypothesis import HealthCheck, Phase, given  # noqa: E402
from hypothesis import settings as hsettings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

from server.db import make_sessionmaker, unit_of_work  # noqa: E402
from tests.kits.paths import REPO  # noqa: E402
from tests.kits.db import TEST_REDIS_URL, truncate_all  # noqa: E402
from testkit.standins.serving import free_port

POSITIVE = int(os.environ.get("BOUSAI_FUZZ_EXAMPLES", "3"))
NEGATIVE = int(os.environ.get("BOUSAI_FUZZ_NEGATIVE", "2"))
PASSWORD = "fuzz horse battery staple"
# Operations that end the caller's own credential: each example gets a device of its own.
SELF_DESTRUCTIVE = {("DELETE", "/v1/me"), ("DELETE", "/v1/me/device"), ("POST", "/v1/me/token")}
ADMIN_PREFIXES = ("/v1/staff/accounts", "/v1/staff/audit")



@pytest.fixture(scope="module")
def api_base(db_url):
    port = free_port()
    env = {**os.environ, "BOUSAI_DATABASE_URL": db_url, "BOUSAI_REDIS_URL": TEST_REDIS_URL,
           "BOUSAI_PORT": str(port), "BOUSAI_HOST": "127.0.0.1",
           "BOUSAI_STAFF_TOKEN_SECRET": "fuzz-secret-" + "x" * 32,
           # Rate limits would turn most of the run into 429s: the fuzz is about what lies behind them.
           "BOUSAI_RESIDENT_REQUESTS_PER_MINUTE": "1000000", "BOUSAI_STAFF_REQUESTS_PER_MINUTE": "1000000",
           "BOUSAI_LOG_LEVEL": "WARNING"}
    log = open(REPO / "build" / "fuzz-api.log", "wb") if (REPO / "build").is_dir() else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "api", "--port", str(port)], cwd=REPO, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if requests.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None:
                pytest.fail("bousai api exited at start")
            time.sleep(0.1)
        else:
            pytest.fail("bousai api did not answer /healthz within 20 s")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _device(base: str) -> dict[str, str]:
    r = requests.post(base + "/v1/devices", json={"platform": "web", "language": "ja"}, timeout=10)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def _accounts(engine) -> dict[str, int]:
    from alerts.staff.schemas import AccountIn
    from alerts.staff.service import create_account

    ids = {}
    async with unit_of_work(make_sessionmaker(engine)) as session:
        for username, role in (("fuzzadmin", "admin"), ("fuzzpref", "prefecture"), ("fuzzspare", "viewer")):
            acc = await create_account(session, None, AccountIn(username=username, display_name=username, password=PASSWORD,
                                                                 role=role, municipality_code=None))
            ids[username] = acc.id
    return ids


def _login(base: str, username: str) -> dict[str, str]:
    r = requests.post(base + "/v1/staff/auth/login", json={"username": username, "password": PASSWORD}, timeout=10)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _request_of(case, response=None) -> str:
    body = getattr(case, "body", None)
    try:
        body_text = json.dumps(body, ensure_ascii=False, default=str)[:400]
    except (TypeError, ValueError):
        body_text = repr(body)[:400]
    status = f" → {response.status_code}" if response is not None else ""
    return (f"{case.method} {case.formatted_path} query={case.query} headers={ {k: v for k, v in (case.headers or {}).items()} } "
            f"body={body_text}{status}")


async def test_fuzz_every_operation_no_5xx_and_answers_match_the_schema(api_base, engine):
    ids = await _accounts(engine)
    resident = _device(api_base)
    admin, pref = _login(api_base, "fuzzadmin"), _login(api_base, "fuzzpref")
    schema = schemathesis.openapi.from_url(api_base + "/openapi.json")
    server_errors: list[str] = []
    violations: list[str] = []
    statuses: Counter = Counter()
    operations = 0
    t0 = time.monotonic()
    for result in schema.get_all_operations():
        op = result.ok()
        operations += 1
        key = (op.method.upper(), op.path)
        overrides = {}
        if key == ("PATCH", "/v1/staff/accounts/{account_id}"):
            overrides["path_parameters"] = {"account_id": ids["fuzzspare"]}  # never disable the fuzzer's own
        for mode, n in ((GenerationMode.POSITIVE, POSITIVE), (GenerationMode.NEGATIVE, NEGATIVE)):
            if n <= 0:
                continue

            @hsettings(max_examples=n, derandomize=True, deadline=None, database=None, print_blob=False,
                       suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
            @given(case=op.as_strategy(generation_mode=mode, **overrides))
            def run(case):
                if key in SELF_DESTRUCTIVE:
                    auth = _device(api_base)
                elif op.path.startswith("/v1/staff/"):
                    auth = admin if op.path.startswith(ADMIN_PREFIXES) else pref
                else:
                    auth = resident
                headers = {**(case.headers or {}), **auth}
                try:
                    response = case.call(base_url=api_base, headers=headers, timeout=20)
                except requests.RequestException as exc:
                    server_errors.append(f"{_request_of(case)}: no answer ({type(exc).__name__})")
                    return
                statuses[response.status_code // 100] += 1
                if response.status_code >= 500:
                    server_errors.append(_request_of(case, response) + f" {response.text[:200]}")
                    return
                try:
                    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance],
                                           headers=headers)
                except Exception as exc:  # a failure group from the checks
                    violations.append(_request_of(case, response) + f": {str(exc).splitlines()[0][:300]}")

            try:
                run()
            except Unsatisfiable:
                pass  # nothing to make invalid (no parameters, no body): the positive run covers it
    elapsed = time.monotonic() - t0
    print(f"\nfuzz: {operations} operations, {sum(statuses.values())} requests in {elapsed:.0f} s, "
          f"by class {dict(sorted(statuses.items()))}, {len(server_errors)} x 5xx, {len(violations)} schema violations")
    for line in server_errors + violations:
        print("  " + line)
    await truncate_all(engine)
    assert operations >= 80
    assert not server_errors, "\n".join(server_errors[:20])
    assert not violations, "\n".join(violations[:20])
