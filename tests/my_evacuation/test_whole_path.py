"""Done-when for alerts that carry the plan, through the whole path: a CAP document on a
local feed server → poller → alert store + outbox → targeting → fan-out with the
household's plan → push accepted by the local FCM server (HTTP/2 + TLS, real client)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from alerts.delivery.service import fan_out
from alerts.feeds.poller import FeedPoller
from alerts.feeds.server import FeedServer
from tests.kits.notices import FUKUSHIMA_NOT_WATARI, SCHOOL, add_school, new_resident
from tests.kits.residents import WATARI

REPO = Path(__file__).resolve().parents[2]
LEVEL4 = (REPO / "fixtures" / "cap" / "evacuation_level4_fukushima.xml").read_bytes()
ALT = ("S-ALT", WATARI[0] - 0.004, WATARI[1] + 0.002, "渡利中学校")


async def _add_alternative(engine) -> None:
    sid, lat, lon, name = ALT
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO shelters (id, name, municipality_code, geom, hazards, capacity, source, is_emergency_site, "
            "is_evacuation_center, is_open) VALUES (:id, :n, '072010', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), "
            "ARRAY['flood'], 400, 'csv', true, true, true)"), {"id": sid, "n": name, "lat": lat, "lon": lon})


async def _run_path(app, local_fcm, document: bytes, name: str) -> list[dict]:  # noqa: F811
    """Publish on the feed, poll it, fan out and send like a worker; what FCM accepted."""
    from firebase_admin import credentials

    from my_evacuation.push.providers.fcm import FcmProvider
    from my_evacuation.push.providers.registry import PushProviders
    from my_evacuation.push.jobs import PushSender

    local_fcm.state.reset()
    sm, redis = app.state.sessionmaker, app.state.redis
    async with FeedServer() as feeds:
        feeds.store.publish("cap", name, document)
        settings = app.state.settings.model_copy(
            update={"jma_feeds": [], "cap_feeds": [feeds.feed_url("cap")], "feed_allowed_hosts": []}
        )
        poller = FeedPoller(settings, sm, redis)
        try:
            summary = await poller.poll_once()
        finally:
            await poller.aclose()
    assert summary.documents_ok == 1, summary
    entries = await redis.xrange("alerts:new")
    alert_id = int(entries[-1][1][b"alert_id"])
    async with sm() as s:  # the fixture's order is from 2025: fan out as of when it was issued
        issued_at = (await s.execute(text("SELECT issued_at FROM alerts WHERE id = :a"), {"a": alert_id})).scalar_one()
    await fan_out(sm, redis, alert_id, now=issued_at)
    provider = FcmProvider(credentials.Certificate(local_fcm.sa_file), local_fcm.project,
                           endpoint=local_fcm.base_url, ca_file=local_fcm.ca_file)
    sender = PushSender(sm, PushProviders({"fcm_token": provider, "fcm_fid": provider}), redis)
    try:
        async with sm() as s:
            ids = [r[0] for r in await s.execute(
                text("SELECT id FROM push_messages WHERE alert_id = :a AND status = 'queued'"), {"a": alert_id})]
        await sender.send_job(ids)
    finally:
        await sender.aclose()
    return list(local_fcm.state.messages)


def _body(message: dict) -> str:
    n = message.get("notification") or {}
    a = ((message.get("android") or {}).get("notification")) or {}
    return " ".join(filter(None, [n.get("title"), n.get("body"), a.get("title"), a.get("body")]))


async def test_level4_order_names_each_members_action_and_destination(app, client, engine, local_fcm):  # noqa: F811
    await add_school(engine)
    await _add_alternative(engine)
    household = await new_resident(client, WATARI, plan=True)
    outside = await new_resident(client, FUKUSHIMA_NOT_WATARI, plan=True)
    got = await _run_path(app, local_fcm, LEVEL4, "evac4.xml")
    assert len(got) == 1, "only the household inside the district polygon"
    text_ = _body(got[0])
    assert "警戒レベル4" in text_
    for member in ("祖母", "父"):
        assert member in text_
    assert SCHOOL[3] in text_ and "車" in text_ and "お薬手帳" in text_
    assert household != outside


async def test_closed_destination_is_named_with_the_nearest_open_suitable_shelter(app, client, engine, local_fcm):  # noqa: F811
    await add_school(engine)
    await _add_alternative(engine)
    await new_resident(client, WATARI, plan=True)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE shelters SET is_open = false WHERE id = :id"), {"id": SCHOOL[0]})
    got = await _run_path(app, local_fcm, LEVEL4, "evac4-closed.xml")
    assert len(got) == 1
    text_ = _body(got[0])
    assert SCHOOL[3] in text_ and ("閉" in text_ or "開設されていません" in text_), text_
    assert ALT[3] in text_, text_
