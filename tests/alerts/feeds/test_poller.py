"""Poller against the local feed server: each entry fetched once, nothing lost, errors recorded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import func, select

from alerts.events.models import Alert, AlertEvent, AlertOutbox
from alerts.events.outbox import ALERTS_STREAM
from alerts.feeds.models import FeedEntry, FeedState
from alerts.feeds.poller import FeedPoller
from tests.kits.feeds import publish_scenario

def doc_fetches(server) -> int:
    return sum(1 for path, status in server.store.requests if path.startswith("/data/") and status == 200)


async def scalar(sessionmaker, stmt):
    async with sessionmaker() as s:
        return (await s.execute(stmt)).scalar_one()


async def test_scenario_documents_are_ingested_relayed_and_events_follow_lifecycle(
    feed_server, poller, sessionmaker, redis_client
):
    publish_scenario(feed_server)
    summary = await poller.poll_once()
    assert summary.documents_ok == 9 and summary.documents_rejected == 0
    assert await scalar(sessionmaker, select(func.count()).select_from(Alert)) == 9
    assert await redis_client.xlen(ALERTS_STREAM) == 9
    async with sessionmaker() as s:
        states = dict((await s.execute(select(AlertEvent.category, AlertEvent.state))).all())
        per_event = (
            await s.execute(
                select(AlertEvent.state, func.array_agg(Alert.category))
                .join(Alert, Alert.event_id == AlertEvent.id)
                .group_by(AlertEvent.id)
            )
        ).all()
    assert states["weather_warning"] == "cleared"  # 08 lifted every warning of 04
    assert states["evacuation"] == "cleared"  # 09 lifted the level-4 order
    assert states["shelter"] == "active"
    # 震度速報, 震源・震度情報 and 津波注意報 share the quake's EventID; residents hear the
    # tsunami advisory as an event of its own, apart from the intensity reports.
    quake = [(state, sorted(cats)) for state, cats in per_event if "earthquake" in cats]
    tsunami = [(state, cats) for state, cats in per_event if "tsunami" in cats]
    assert len(quake) == 1 and quake[0][1] == ["earthquake", "earthquake"]
    assert len(tsunami) == 1 and tsunami[0][1] == ["tsunami"]
    assert quake[0][0] in ("active", "updated")


async def test_polling_twice_fetches_nothing_again_and_uses_304(feed_server, poller, sessionmaker):
    publish_scenario(feed_server, only=["01_VXSE51.xml", "04_VPWW53.xml"])
    await poller.poll_once()
    fetched = doc_fetches(feed_server)
    second = await poller.poll_once()
    assert second.not_modified == 5 and second.documents_fetched == 0
    assert doc_fetches(feed_server) == fetched == 2
    assert await scalar(sessionmaker, select(func.count()).select_from(Alert)) == 2
    assert await scalar(sessionmaker, select(func.count()).select_from(AlertOutbox)) == 2


async def test_restart_forgets_nothing_and_refetches_only_unstored(feed_server, feed_settings, sessionmaker, redis_client):
    publish_scenario(feed_server, only=["01_VXSE51.xml"])
    first = FeedPoller(feed_settings, sessionmaker, redis_client)
    await first.poll_once()
    await first.aclose()
    publish_scenario(feed_server, only=["02_VXSE53.xml"])
    # A new process: no memory but the database.
    second = FeedPoller(feed_settings, sessionmaker, redis_client)
    summary = await second.poll_once()
    await second.aclose()
    assert summary.documents_fetched == 1
    assert await scalar(sessionmaker, select(func.count()).select_from(Alert)) == 2


async def test_poll_cancelled_during_fetches_then_polled_again_loses_and_duplicates_nothing(
    feed_server, feed_settings, sessionmaker, redis_client
):
    publish_scenario(feed_server)
    feed_server.store.document_delay = 0.5
    interrupted = FeedPoller(feed_settings.model_copy(update={"feed_fetch_concurrency": 2}), sessionmaker, redis_client)
    task = asyncio.create_task(interrupted.poll_once())
    # Wait until at least one alert is stored, then kill the poll mid-way (with 9 documents
    # each answered after 0.5 s, two at a time, the rest are still on their way; the wait is
    # generous for a loaded machine).
    for _ in range(1000):
        if await scalar(sessionmaker, select(func.count()).select_from(Alert)) >= 1:
            break
        await asyncio.sleep(0.02)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    await interrupted.aclose()
    stored_before = await scalar(sessionmaker, select(func.count()).select_from(Alert))
    assert 1 <= stored_before < 9
    feed_server.store.document_delay = 0.0
    again = FeedPoller(feed_settings, sessionmaker, redis_client)
    await again.poll_once()
    await again.aclose()
    async with sessionmaker() as s:
        source_ids = (await s.execute(select(Alert.source_id))).scalars().all()
        outbox = (await s.execute(select(func.count()).select_from(AlertOutbox))).scalar_one()
    assert len(source_ids) == len(set(source_ids)) == 9
    assert outbox == 9
    assert await redis_client.xlen(ALERTS_STREAM) == 9


async def test_byte_budget_exhausted_stops_fetching_documents_until_budget_allows(
    feed_server, feed_settings, sessionmaker, redis_client
):
    publish_scenario(feed_server, only=["01_VXSE51.xml", "02_VXSE53.xml"])
    tight = FeedPoller(feed_settings.model_copy(update={"feed_daily_byte_budget": 100}), sessionmaker, redis_client)
    summary = await tight.poll_once()
    await tight.aclose()
    assert summary.held_by_budget == 2 and summary.documents_fetched == 0
    assert doc_fetches(feed_server) == 0
    assert await scalar(sessionmaker, select(func.count()).select_from(FeedEntry)) == 0
    # Validators were not kept, so the held entries are seen again once the budget allows.
    roomy = FeedPoller(feed_settings, sessionmaker, redis_client)
    summary = await roomy.poll_once()
    await roomy.aclose()
    assert summary.documents_ok == 2
    assert await scalar(sessionmaker, select(func.count()).select_from(Alert)) == 2


async def test_feed_5xx_backs_off_that_feed_only(feed_server, poller, sessionmaker):
    feed_server.store.fail_next("/jma/extra.xml", 503)
    summary = await poller.poll_once()
    assert summary.feeds_failed == 1
    async with sessionmaker() as s:
        state = await s.get(FeedState, feed_server.feed_url("extra"))
    assert state.consecutive_errors == 1 and "http_503" in state.last_error
    assert state.next_attempt_at is not None and state.next_attempt_at >= state.last_polled_at
    requests_before = len(feed_server.store.requests)
    # Force the backoff window into the future and poll again: extra is not requested.
    async with sessionmaker() as s, s.begin():
        st = await s.get(FeedState, feed_server.feed_url("extra"))
        st.next_attempt_at = datetime(2999, 1, 1, tzinfo=UTC)
    again = await poller.poll_once()
    assert again.feeds_backing_off == 1
    new_paths = [p for p, _ in feed_server.store.requests[requests_before:]]
    assert "/jma/extra.xml" not in new_paths and "/jma/eqvol.xml" in new_paths


async def test_entry_linking_off_site_is_refused_and_recorded(feed_server, poller, sessionmaker):
    feed_server.store.raw_feeds["extra"] = (
        b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>x</title>'
        b"<id>x</id><updated>2026-11-22T00:00:00Z</updated><entry><title>t</title><id>urn:evil:1</id>"
        b"<updated>2026-11-22T00:00:00Z</updated><link href=\"http://evil.example/doc.xml\"/></entry></feed>"
    )
    summary = await poller.poll_once()
    assert summary.entries_refused == 1 and summary.documents_fetched == 0
    async with sessionmaker() as s:
        entry = (await s.execute(select(FeedEntry).where(FeedEntry.entry_id == "urn:evil:1"))).scalar_one()
    assert entry.status == "refused" and "evil.example" in entry.error


async def test_malformed_document_is_recorded_as_error_while_others_are_ingested(feed_server, poller, sessionmaker):
    publish_scenario(feed_server, only=["01_VXSE51.xml", "04_VPWW53.xml"])
    bad = feed_server.store.publish("extra", "broken.xml", b"<?xml version='1.0'?><Report><Control>")
    hostile = feed_server.store.publish(
        "extra", "bomb.xml", b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>'
    )
    summary = await poller.poll_once()
    assert summary.documents_ok == 2 and summary.documents_rejected == 2
    async with sessionmaker() as s:
        rows = dict((await s.execute(select(FeedEntry.entry_id, FeedEntry.status))).all())
        errors = dict((await s.execute(select(FeedEntry.entry_id, FeedEntry.error))).all())
    assert rows[bad.entry_id] == "error" and rows[hostile.entry_id] == "error"
    assert "dtd" in errors[hostile.entry_id].lower()
    assert await scalar(sessionmaker, select(func.count()).select_from(Alert)) == 2


async def test_document_5xx_is_retried_next_cycle(feed_server, poller, sessionmaker):
    ids = publish_scenario(feed_server, only=["01_VXSE51.xml"])
    path = "/data/" + ids["01_VXSE51.xml"].rsplit("/", 1)[1]
    feed_server.store.fail_next(path, 502)
    first = await poller.poll_once()
    assert first.documents_retry == 1
    async with sessionmaker() as s:
        entry = (await s.execute(select(FeedEntry))).scalar_one()
        assert entry.status == "retry"
        state = await s.get(FeedState, feed_server.feed_url("eqvol"))
        assert state.etag is None  # not settled: the next poll must see the entry again
    second = await poller.poll_once()
    assert second.documents_ok == 1
    async with sessionmaker() as s:
        entry = (await s.execute(select(FeedEntry).execution_options(populate_existing=True))).scalar_one()
    assert entry.status == "ok" and entry.attempts == 2
