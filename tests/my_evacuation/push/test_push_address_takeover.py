"""A push address is no credential (issue 12, item 7): an anonymous registration with another
device's FCM token must not move it (that silenced the phone and rerouted its family's messages)."""

from __future__ import annotations

from sqlalchemy import text


async def holder_of(engine, token: str):
    async with engine.connect() as conn:
        return (await conn.execute(text("SELECT id FROM devices WHERE push_token = :t"), {"t": token})).scalar()


async def test_anonymous_registration_with_a_taken_fcm_token_is_409_and_moves_nothing(client, engine):
    victim = (await client.post("/v1/devices", json={"platform": "android", "fcm_token": "victim-fcm-token"})).json()
    r = await client.post("/v1/devices", json={"platform": "android", "fcm_token": "victim-fcm-token"})
    assert r.status_code == 409 and r.json()["code"] == "push_address_in_use", r.text
    assert await holder_of(engine, "victim-fcm-token") == victim["device_id"]
    async with engine.connect() as conn:  # and no resident was left behind by the refused request
        assert (await conn.execute(text("SELECT count(*) FROM residents"))).scalar() == 1


async def test_another_residents_token_cannot_take_it_either(client, engine):
    victim = (await client.post("/v1/devices", json={"platform": "android", "fcm_token": "victim-fcm-token-2"})).json()
    other = (await client.post("/v1/devices", json={"platform": "web"})).json()
    stranger = {"Authorization": f"Bearer {other['token']}"}
    r = await client.post("/v1/devices", json={"platform": "android", "fcm_token": "victim-fcm-token-2"},
                          headers=stranger)
    assert r.status_code == 409
    r = await client.patch("/v1/me/device", json={"fcm_token": "victim-fcm-token-2"}, headers=stranger)
    assert r.status_code == 409 and r.json()["code"] == "push_address_in_use"
    assert await holder_of(engine, "victim-fcm-token-2") == victim["device_id"]


async def test_the_owner_moves_it_to_a_second_device(client, engine):
    first = (await client.post("/v1/devices", json={"platform": "android", "fcm_token": "own-fcm-token-3"})).json()
    owner = {"Authorization": f"Bearer {first['token']}"}
    second = (await client.post("/v1/devices", json={"platform": "android", "fcm_token": "own-fcm-token-3"},
                                headers=owner)).json()
    assert second["moved_from_device_id"] == first["device_id"]
    assert await holder_of(engine, "own-fcm-token-3") == second["device_id"]
    # Sending its own address again changes nothing.
    r = await client.patch("/v1/me/device", json={"fcm_token": "own-fcm-token-3"},
                           headers={"Authorization": f"Bearer {second['token']}"})
    assert r.status_code == 200


async def test_the_registration_it_moves_from_loses_its_bearer_token(client):
    """Issue 12 item 14: the same install registering again left its old device signed in."""
    first = (await client.post("/v1/devices", json={"platform": "android", "fcm_token": "reinstalled-token"})).json()
    old = {"Authorization": f"Bearer {first['token']}"}
    second = (await client.post("/v1/devices", json={"platform": "android", "fcm_token": "reinstalled-token"},
                                headers=old)).json()
    assert (await client.get("/v1/me", headers=old)).status_code == 401
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {second['token']}"})
    assert me.status_code == 200 and [d["id"] for d in me.json()["devices"]] == [second["device_id"]]


async def test_devices_per_resident_are_limited(app, client):
    first = (await client.post("/v1/devices", json={"platform": "web"})).json()
    headers = {"Authorization": f"Bearer {first['token']}"}
    limit = app.state.settings.max_devices_per_resident
    codes = [(await client.post("/v1/devices", json={"platform": "web"}, headers=headers)).status_code
             for _ in range(limit)]
    assert codes == [201] * (limit - 1) + [409]
