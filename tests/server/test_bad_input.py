"""Bad input is a 4xx with a message, never a 500, and error logs carry no values (issue 12, item 8)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from server.db import make_engine
from server.errors import ErrorGuardMiddleware, install_error_handlers
from tests.kits.staff import staff_headers


def assert_nul_refused(r: httpx.Response, where: str) -> None:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "validation_error"
    assert any(e["type"] == "string_nul" and e["loc"][0] == where for e in body["detail"]), body


async def test_nul_in_any_json_string_is_422(client, resident):
    headers, _ = resident
    assert_nul_refused(await client.post("/v1/devices", json={"platform": "android", "fcm_token": "abcdefgh\x00ij"}),
                       "body")
    assert_nul_refused(await client.post("/v1/me/places", headers=headers,
                                         json={"kind": "home", "lat": 37.75, "lon": 140.47, "label": "家\x00"}), "body")
    # Deep inside a jsonb document, and in a key.
    assert_nul_refused(await client.put("/v1/me/plan", headers=headers,
                                        json={"notes": {"deep": ["ok", "no\x00pe"]}}), "body")
    assert_nul_refused(await client.post("/v1/staff/auth/login", json={"username": "a\x00b", "password": "x" * 12}),
                       "body")
    r = await client.post("/v1/devices", json={"platform": "android", "fcm_token": "abcdefgh\x00ij"})
    assert r.json()["detail"][0]["loc"] == ["body", "fcm_token"]


async def test_nul_in_path_or_query_is_422(app, client, resident):
    headers, _ = resident
    assert_nul_refused(await client.get("/v1/shelters/abc%00def"), "path")
    staff = await staff_headers(app, client, "admin")
    r = await client.get("/v1/staff/audit?action=x%00y", headers=staff)
    assert_nul_refused(r, "query")
    assert r.json()["detail"][0]["loc"] == ["query", "action"]


async def test_escaped_backslash_u0000_text_is_not_a_nul(client):
    r = await client.post("/v1/devices", json={"platform": "android", "fcm_token": "literal\\u0000text"})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("path", ["/v1/me/places/99999999999999999999", "/v1/me/places/18446744073709551616"])
async def test_ids_beyond_64_bits_are_4xx(client, resident, path):
    headers, _ = resident
    r = await client.get(path, headers=headers)
    assert 400 <= r.status_code < 500, r.text


def _probe_app(settings) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(ErrorGuardMiddleware, fastapi_app=app)
    engine = make_engine(settings, pool_size=1, max_overflow=0)

    @app.get("/broken")
    async def broken(value: str):
        async with engine.connect() as conn:  # a bug: no such column; the value is personal data
            await conn.execute(text("SELECT no_such_column FROM areas WHERE code = :v"), {"v": value})

    @app.get("/overflow")
    async def overflow(value: int):
        async with engine.connect() as conn:
            await conn.execute(text("SELECT CAST(:v AS bigint)"), {"v": value})

    app.state.engine = engine
    return app


class RecordingLog:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def _record(self, event, *args, **kw):
        self.lines.append(f"{event} {args!r} {kw!r}")

    error = warning = info = exception = _record


async def test_error_logs_carry_no_sql_parameters(settings, monkeypatch):
    from server import errors

    recorded = RecordingLog()
    monkeypatch.setattr(errors, "log", recorded)
    app = _probe_app(settings)
    secret = "37.7512345,140.4712345-home-of-someone"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url="http://t") as c:
        r = await c.get("/broken", params={"value": secret})
        assert r.status_code == 500 and r.json()["code"] == "internal_error"
        r = await c.get("/overflow", params={"value": str(2**70)})
        assert r.status_code == 422 and r.json()["code"] == "invalid_value"
        assert str(2**70) not in r.text
    await app.state.engine.dispose()
    everything = "\n".join(recorded.lines)
    assert "server.unhandled_error" in everything and "no_such_column" in everything  # the statement is there
    assert secret not in everything and str(2**70) not in everything


async def test_device_update_with_two_push_addresses_or_the_wrong_platform_is_422(client, resident):
    headers, _ = resident  # an android device
    r = await client.patch("/v1/me/device", headers=headers,
                           json={"fcm_token": "aaaaaaaaaa", "fcm_installation_id": "bbbbbbbbbb"})
    assert r.status_code == 422, r.text
    r = await client.patch("/v1/me/device", headers=headers, json={"apns_token": "ab" * 32})
    assert r.status_code == 422 and r.json()["code"] == "wrong_platform", r.text
