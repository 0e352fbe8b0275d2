"""Erasure removes what names the resident's devices (issue 12, item 5, the push log part)."""

from __future__ import annotations

from sqlalchemy import text

from my_evacuation.push.providers.base import PushMessage
from my_evacuation.push.providers.log import LogProvider


async def test_erase_me_removes_the_devices_log_rows(app, client, resident, engine):
    headers, body = resident
    other = (await client.post("/v1/devices", json={"platform": "android", "fcm_token": "someone-else-token"})).json()
    provider = LogProvider(app.state.sessionmaker)
    await provider.send([
        PushMessage(message_id="m-mine", device_id=str(body["device_id"]), token="tok-resident-fixture",
                    title="避難指示", body="自宅は浸水のおそれ"),
        PushMessage(message_id="m-other", device_id=str(other["device_id"]), token="someone-else-token",
                    title="t", body="b"),
    ])
    assert (await client.delete("/v1/me", headers=headers)).status_code == 204
    async with engine.connect() as conn:
        left = (await conn.execute(text("SELECT message_id FROM push_log ORDER BY id"))).scalars().all()
    assert left == ["m-other"]
