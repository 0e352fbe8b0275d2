"""``GET /v1/alerts/{id}`` is cached per api process (server.readcache, ``alerts``): a
correction or a cancel of the event is seen by the next request."""

from __future__ import annotations

from alerts.events import api as events_api, repository as repo
from alerts.events.service import ingest
from server.db import unit_of_work
from tests.kits.event_docs import quake_doc


async def stored(app, doc):
    async with unit_of_work(app.state.sessionmaker) as s:
        return await ingest(s, doc)


async def test_cancel_and_correction_are_seen_on_the_next_request(app, client, routes_client):
    first = await stored(app, quake_doc("DC1", "dc-1"))
    body = (await client.get(f"/v1/alerts/{first.alert_id}")).json()
    assert body["event"]["state"] == "active" and body["event"]["latest_alert_id"] == first.alert_id
    hits, route_hits = events_api._DETAIL_BYTES.hits, repo.DETAIL_CACHE.hits
    again = await client.get(f"/v1/alerts/{first.alert_id}")
    assert again.json() == body
    assert events_api._DETAIL_BYTES.hits == hits + 1  # the fast path's bytes
    # The route (no fast path) answers the same bytes, from the rows' cache.
    slow = await routes_client.get(f"/v1/alerts/{first.alert_id}")
    assert slow.content == again.content and slow.headers["content-type"] == again.headers["content-type"]
    assert repo.DETAIL_CACHE.hits >= route_hits + 2  # the alert and its event, both from the cache

    update = await stored(app, quake_doc("DC1", "dc-2", msg_type="update", issued_at="2026-11-22T10:03:00+09:00"))
    body = (await client.get(f"/v1/alerts/{first.alert_id}")).json()
    assert body["event"]["latest_alert_id"] == update.alert_id
    assert (await routes_client.get(f"/v1/alerts/{first.alert_id}")).json() == body
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


async def test_what_the_fast_path_does_not_serve_reaches_the_route(app, client, routes_client):
    first = await stored(app, quake_doc("DC4", "dc4-1"))
    for path in (f"/v1/alerts/{first.alert_id}?x=1", "/v1/alerts/0", "/v1/alerts/-1", f"/v1/alerts/{2**63}",
                 "/v1/alerts/abc", f"/v1/alerts/{first.alert_id + 1000}"):
        fast, slow = await client.get(path), await routes_client.get(path)
        assert fast.status_code == slow.status_code and fast.json() == slow.json(), path
    assert (await client.get(f"/v1/alerts/{first.alert_id}?x=1")).status_code == 200
    assert (await client.get(f"/v1/alerts/{first.alert_id + 1000}")).status_code == 404
