"""``GET /v1/alerts/{id}`` is cached per api process (server.readcache, ``alerts``): a
correction or a cancel of the event is seen by the next request."""

from __future__ import annotations

from alerts.events import repository as repo
from alerts.events.service import ingest
from server.db import unit_of_work
from tests.kits.event_docs import quake_doc


async def stored(app, doc):
    async with unit_of_work(app.state.sessionmaker) as s:
        return await ingest(s, doc)


async def test_cancel_and_correction_are_seen_on_the_next_request(app, client):
    first = await stored(app, quake_doc("DC1", "dc-1"))
    body = (await client.get(f"/v1/alerts/{first.alert_id}")).json()
    assert body["event"]["state"] == "active" and body["event"]["latest_alert_id"] == first.alert_id
    hits = repo.DETAIL_CACHE.hits
    again = (await client.get(f"/v1/alerts/{first.alert_id}")).json()
    assert again == body
    assert repo.DETAIL_CACHE.hits >= hits + 2  # the alert and its event, both from the cache

    update = await stored(app, quake_doc("DC1", "dc-2", msg_type="update", issued_at="2026-11-22T10:03:00+09:00"))
    body = (await client.get(f"/v1/alerts/{first.alert_id}")).json()
    assert body["event"]["latest_alert_id"] == update.alert_id
    await stored(app, quake_doc("DC1", "dc-3", msg_type="cancel", issued_at="2026-11-22T10:05:00+09:00"))
    assert (await client.get(f"/v1/alerts/{first.alert_id}")).json()["event"]["state"] == "cancelled"
    assert (await client.get(f"/v1/alerts/{update.alert_id}")).json()["event"]["state"] == "cancelled"


async def test_an_alert_stored_after_a_miss_is_found(app, client):
    assert (await client.get("/v1/alerts/1")).status_code == 404
    first = await stored(app, quake_doc("DC2", "dc2-1"))
    assert (await client.get(f"/v1/alerts/{first.alert_id}")).status_code == 200


async def test_a_rolled_back_ingest_is_never_served(app, client):
    async with app.state.sessionmaker() as s:
        result = await ingest(s, quake_doc("DC3", "dc3-1"))
        # Read inside the writing transaction: not cached (it may never commit).
        found = await repo.get_alert(s, result.alert_id)
        assert found is not None
        await s.rollback()
    assert (await client.get(f"/v1/alerts/{result.alert_id}")).status_code == 404
