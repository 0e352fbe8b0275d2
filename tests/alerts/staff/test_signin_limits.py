"""Sign-in limits (issue 12, item 3): counted atomically before the password is checked, argon2
off the event loop, and no way to lock a known user out from somewhere else."""

from __future__ import annotations

import asyncio
import threading

import httpx

from alerts.staff import service
from alerts.staff.settings import get_staff_settings
from tests.kits.staff import PASSWORD, make_account


def client_from(app, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def sign_in(c: httpx.AsyncClient, username: str, password: str) -> int:
    return (await c.post("/v1/staff/auth/login", json={"username": username, "password": password})).status_code


async def test_parallel_guesses_get_exactly_the_limit_of_password_checks(app, monkeypatch):
    await make_account(app, "prefecture", username="target1")
    checks = 0
    real = service.verify_password

    def counting(*args):
        nonlocal checks
        checks += 1
        return real(*args)

    monkeypatch.setattr(service, "verify_password", counting)
    limit = get_staff_settings().staff_login_max_per_user_address
    async with client_from(app, "198.51.100.7") as c:
        codes = await asyncio.gather(*(sign_in(c, "target1", "wrong password 123") for _ in range(40)))
    assert codes.count(401) == limit and codes.count(429) == 40 - limit
    assert checks == limit


async def test_guesses_from_elsewhere_cannot_lock_the_owner_out(app):
    await make_account(app, "municipal", "072010", username="target2")
    limit = get_staff_settings().staff_login_max_per_user_address
    async with client_from(app, "203.0.113.66") as attacker:
        codes = [await sign_in(attacker, "target2", "not the password") for _ in range(limit + 2)]
        assert codes[-1] == 429
        assert await sign_in(attacker, "target2", PASSWORD) == 429  # that address stays refused
    async with client_from(app, "192.0.2.20") as crisis_room:
        assert await sign_in(crisis_room, "target2", PASSWORD) == 200


async def test_one_address_guessing_over_many_usernames_is_stopped_without_locking_others(app):
    await make_account(app, "prefecture", username="target3")
    per_ip = get_staff_settings().staff_login_max_per_ip
    async with client_from(app, "203.0.113.99") as attacker:
        codes = [await sign_in(attacker, f"user{i}", "not the password") for i in range(per_ip + 1)]
        assert codes[:per_ip] == [401] * per_ip and codes[-1] == 429
        assert await sign_in(attacker, "target3", PASSWORD) == 429
    async with client_from(app, "192.0.2.21") as colleague:
        assert await sign_in(colleague, "target3", PASSWORD) == 200


async def test_successful_sign_ins_do_not_use_up_the_limits(app):
    await make_account(app, "prefecture", username="target4")
    limit = get_staff_settings().staff_login_max_per_user_address
    async with client_from(app, "192.0.2.22") as office:
        assert [await sign_in(office, "target4", PASSWORD) for _ in range(limit + 2)] == [200] * (limit + 2)


async def test_password_hashing_runs_off_the_event_loop(app, client, monkeypatch):
    await make_account(app, "prefecture", username="target5")
    loop_thread = threading.get_ident()
    threads = []
    real = service.verify_password

    def recording(*args):
        threads.append(threading.get_ident())
        return real(*args)

    monkeypatch.setattr(service, "verify_password", recording)
    assert await sign_in(client, "target5", PASSWORD) == 200
    assert threads and all(t != loop_thread for t in threads)
