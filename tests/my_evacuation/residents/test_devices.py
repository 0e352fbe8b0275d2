"""Residents and devices through the real API (PostGIS + Redis behind it)."""

from __future__ import annotations


async def register(client, **body):
    body.setdefault("platform", "android")
    return await client.post("/v1/devices", json=body)


async def test_register_returns_token_that_authenticates(client):
    r = await register(client, fcm_token="fcm-token-aaaaaaaa", language="en", app_version="1.2.0")
    assert r.status_code == 201
    token = r.json()["token"]
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["language"] == "en"
    assert me.json()["devices"][0]["push_kind"] == "fcm_token"


async def test_token_is_stored_only_as_hash(client, engine):
    from sqlalchemy import text

    token = (await register(client, fcm_token="fcm-token-hash-check")).json()["token"]
    async with engine.connect() as conn:
        stored = (await conn.execute(text("SELECT token_hash FROM devices"))).scalars().all()
    assert all(token.encode() not in bytes(h) for h in stored)
    assert all(len(bytes(h)) == 32 for h in stored)


async def test_reregistering_same_push_token_moves_it(client, engine):
    """With the holding device's bearer token (a reinstall, a new phone): the address moves.
    Without it the answer is 409 (tests/server/test_push_address_takeover.py)."""
    from sqlalchemy import text

    first = (await register(client, fcm_token="same-push-token-1")).json()
    second = (await client.post("/v1/devices", json={"platform": "android", "fcm_token": "same-push-token-1"},
                                headers={"Authorization": f"Bearer {first['token']}"})).json()
    assert second["moved_from_device_id"] == first["device_id"]
    async with engine.connect() as conn:
        n = (await conn.execute(text("SELECT count(*) FROM devices WHERE push_token = 'same-push-token-1'"))).scalar()
    assert n == 1


async def test_token_rotation_revokes_old_token(client):
    token = (await register(client, fcm_token="rotate-me-token")).json()["token"]
    r = await client.post("/v1/me/token", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    new = r.json()["token"]
    assert (await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})).status_code == 401
    assert (await client.get("/v1/me", headers={"Authorization": f"Bearer {new}"})).status_code == 200


async def test_second_device_joins_the_same_resident(client, resident):
    headers, body = resident
    r = await client.post("/v1/devices", json={"platform": "ios", "apns_token": "ab" * 32}, headers=headers)
    assert r.status_code == 201
    assert r.json()["resident_id"] == body["resident_id"]


async def test_unknown_token_is_401_with_error_shape(client):
    r = await client.get("/v1/me", headers={"Authorization": "Bearer bsd_nope"})
    assert r.status_code == 401
    assert set(r.json()) == {"error", "code", "detail"}
    assert r.json()["code"] == "unauthorized"


async def test_bad_registrations_are_4xx(client):
    assert (await register(client, platform="blackberry")).status_code == 422
    assert (await register(client, platform="android", apns_token="ab" * 32)).status_code == 422
    assert (await register(client, fcm_token="aaaaaaaaaa", fcm_installation_id="bbbbbbbbbb")).status_code == 422
    assert (await register(client, language="xx")).status_code == 422
    r = await client.post("/v1/devices", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422


async def test_oversized_body_is_413(client):
    r = await client.post("/v1/devices", content=b"{" + b" " * (300 * 1024) + b"}", headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["code"] == "payload_too_large"


async def test_erase_me_removes_everything(client, resident, engine):
    from sqlalchemy import text

    headers, body = resident
    await client.post("/v1/me/places", json={"kind": "home", "lat": 37.75, "lon": 140.47}, headers=headers)
    await client.put("/v1/me/location", json={"lat": 37.4, "lon": 140.38}, headers=headers)
    r = await client.delete("/v1/me", headers=headers)
    assert r.status_code == 204
    async with engine.connect() as conn:
        for table in ("residents", "devices", "places"):
            assert (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar() == 0
    assert (await client.get("/v1/me", headers=headers)).status_code == 401


async def test_health_and_readiness(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": "ok", "redis": "ok"}
    assert (await client.get("/metrics")).status_code == 200
    assert (await client.get("/openapi.json")).status_code == 200


async def test_resident_api_is_rate_limited_per_device(app, client, resident, redis_client):
    import hashlib
    import time

    from server.ratelimit import hit
    from server.settings import get_settings

    headers, body = resident
    limit = get_settings().resident_requests_per_minute
    subject = "d:" + hashlib.sha256(body["token"].encode()).hexdigest()[:32]
    for _ in range(2):  # a minute boundary between filling and asking: once more
        minute = int(time.time()) // 60
        await hit(app.state.redis, "resident", subject, limit=limit, window=60, cost=limit)
        r = await client.get("/v1/me", headers=headers)
        if int(time.time()) // 60 == minute:
            break
    assert r.status_code == 429
    assert r.json()["code"] == "rate_limited" and int(r.headers["retry-after"]) >= 0
    # Another device is not affected.
    other = (await client.post("/v1/devices", json={"platform": "web"})).json()["token"]
    assert (await client.get("/v1/me", headers={"Authorization": f"Bearer {other}"})).status_code == 200
