"""Staff accounts: sign-in, short-lived revocable tokens, administrators create accounts, audited."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from alerts.staff import tokens
from alerts.staff.passwords import hash_password, verify_password
from alerts.staff.settings import StaffSettings
from tests.kits.staff import FUKUSHIMA, PASSWORD, login, make_account, staff_headers


def test_passwords_are_argon2id_and_verify():
    h = hash_password("a long enough password")
    assert h.startswith("$argon2id$")
    assert verify_password(h, "a long enough password")
    assert not verify_password(h, "another password!!")
    assert not verify_password(None, "anything at all")


def test_token_expiry_and_tamper_are_refused():
    s = StaffSettings(staff_token_secret="s" * 40, staff_token_ttl_seconds=-10)
    tok, _ = tokens.issue_token(s, 1, 1)
    for bad, code in ((tok, "token_expired"), (tok[:-2] + "xx", "invalid_token")):
        try:
            tokens.decode_token(s, bad)
        except Exception as exc:  # Unauthorized
            assert exc.code in (code, "invalid_token")
        else:
            raise AssertionError("token accepted")
    other = StaffSettings(staff_token_secret="t" * 40)
    good, _ = tokens.issue_token(other, 7, 3)
    assert tokens.decode_token(other, good).account_id == 7


async def test_admin_creates_accounts_and_the_change_is_audited(app, client):
    admin = await staff_headers(app, client, "admin")
    r = await client.post("/v1/staff/accounts", headers=admin, json={
        "username": "fukushima-op", "display_name": "福島市 防災", "password": PASSWORD,
        "role": "municipal", "municipality_code": FUKUSHIMA})
    assert r.status_code == 201, r.text
    assert "password" not in r.text and "hash" not in r.text
    op = await login(client, "fukushima-op")
    me = (await client.get("/v1/staff/me", headers=op)).json()
    assert me["role"] == "municipal" and me["municipality_code"] == FUKUSHIMA
    # A municipal operator cannot create accounts.
    r = await client.post("/v1/staff/accounts", headers=op, json={
        "username": "x-op", "display_name": "x", "password": PASSWORD, "role": "admin"})
    assert r.status_code == 403
    audit = (await client.get("/v1/staff/audit", headers=admin, params={"action": "account.create"})).json()
    created = [e for e in audit if e["after"]["username"] == "fukushima-op"]
    assert created and created[0]["actor"]["role"] == "admin" and created[0]["before"] is None


async def test_bad_scope_fields_are_400(app, client):
    admin = await staff_headers(app, client, "admin")
    base = {"display_name": "x", "password": PASSWORD}
    for body, code in (
        ({"username": "mun1", "role": "municipal"}, "invalid_scope"),
        ({"username": "pref1", "role": "prefecture", "municipality_code": FUKUSHIMA}, "invalid_scope"),
        ({"username": "mun2", "role": "municipal", "municipality_code": "999999"}, "unknown_municipality"),
    ):
        r = await client.post("/v1/staff/accounts", headers=admin, json={**base, **body})
        assert r.status_code == 400 and r.json()["code"] == code, r.text
    r = await client.post("/v1/staff/accounts", headers=admin, json={**base, "username": "short", "role": "viewer", "password": "short"})
    assert r.status_code == 422


async def test_deactivation_revokes_tokens_at_once(app, client):
    admin = await staff_headers(app, client, "admin")
    uid = await make_account(app, "prefecture", username="pref-revoke")
    h = await login(client, "pref-revoke")
    assert (await client.get("/v1/staff/me", headers=h)).status_code == 200
    r = await client.patch(f"/v1/staff/accounts/{uid}", headers=admin, json={"is_active": False})
    assert r.status_code == 200 and r.json()["is_active"] is False
    r = await client.get("/v1/staff/me", headers=h)
    assert r.status_code == 401 and r.json()["code"] == "token_revoked"
    r = await client.post("/v1/staff/auth/login", json={"username": "pref-revoke", "password": PASSWORD})
    assert r.status_code == 401


async def test_wrong_password_and_unknown_user_answer_alike(app, client):
    await make_account(app, "viewer", username="viewer-x")
    a = await client.post("/v1/staff/auth/login", json={"username": "viewer-x", "password": "wrong password here"})
    b = await client.post("/v1/staff/auth/login", json={"username": "nobody", "password": "wrong password here"})
    assert a.status_code == b.status_code == 401 and a.json() == b.json()


async def test_sign_in_attempts_are_rate_limited_per_username(app, client):
    await make_account(app, "viewer", username="viewer-rl")
    for _ in range(10):
        r = await client.post("/v1/staff/auth/login", json={"username": "viewer-rl", "password": "wrong password here"})
        assert r.status_code == 401
    # Even the right password is refused once the window's failures are used up.
    r = await client.post("/v1/staff/auth/login", json={"username": "viewer-rl", "password": PASSWORD})
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    assert r.json()["detail"]["retry_after"] > 0


async def test_staff_api_is_rate_limited_per_account(app, client, monkeypatch):
    from alerts.staff import settings as staff_settings

    h = await staff_headers(app, client, "viewer")
    limited = staff_settings.StaffSettings(staff_requests_per_minute=5)
    monkeypatch.setattr("alerts.staff.deps.get_staff_settings", lambda: limited)
    codes = [(await client.get("/v1/staff/me", headers=h)).status_code for _ in range(8)]
    # The window is one minute: 5 allowed, then refused (unless the minute turned over mid-run).
    assert codes.count(429) >= 1 and codes[:5].count(200) >= 4


async def test_cli_create_admin(db_url, settings, monkeypatch, engine, capsys):
    from alerts.staff import cli

    monkeypatch.setenv("BOUSAI_DATABASE_URL", db_url)
    monkeypatch.setenv("BOUSAI_ADMIN_PASSWORD", PASSWORD)
    from server.settings import get_settings

    get_settings.cache_clear()
    try:
        import argparse

        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        cli.register(sub)
        args = parser.parse_args(["staff", "create-admin", "--username", "root-admin"])
        rc = await asyncio.to_thread(args.func, args)
        assert rc == 0, capsys.readouterr()
        async with engine.begin() as conn:
            role = (await conn.execute(text("SELECT role FROM staff_accounts WHERE username = 'root-admin'"))).scalar_one()
            assert role == "admin"
            n = (await conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'account.create'"))).scalar_one()
            assert n >= 1
            await conn.execute(text("TRUNCATE staff_accounts, audit_log"))
        rc = await asyncio.to_thread(args.func, parser.parse_args(["staff", "create-admin", "--username", "root-admin"]))
        assert rc == 0  # fresh after truncate
        rc = await asyncio.to_thread(args.func, parser.parse_args(["staff", "create-admin", "--username", "root-admin"]))
        assert rc == 1  # taken
    finally:
        get_settings.cache_clear()
        async with engine.begin() as conn:
            await conn.execute(text("TRUNCATE staff_accounts, audit_log"))


async def test_audit_log_refuses_update_and_delete(app, client, engine):
    await make_account(app, "viewer", username="viewer-audit")
    async with engine.connect() as conn:
        for stmt in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
            trans = await conn.begin()
            try:
                await conn.execute(text(stmt))
            except Exception as exc:
                assert "append-only" in str(exc)
            else:
                raise AssertionError(f"{stmt} was allowed")
            finally:
                await trans.rollback()
