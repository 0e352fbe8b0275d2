"""Replay: documents appear on the feed in scenario order, as their offsets come due, rendered fresh."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from alerts.feeds.atom import parse_feed
from alerts.feeds.replay import ScenarioError, load_scenario, render_scenario, run_replay
from alerts.feeds.server import FeedServer

SCENARIO_DOC = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>urn:test:{{run}}:%d</identifier>
<sender>t@example.jp</sender><sent>{{now}}</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
<info><event>避難情報</event><urgency>Immediate</urgency><severity>Severe</severity><certainty>Likely</certainty>
<headline>test %d</headline><area><areaDesc>いわき市</areaDesc></area></info></alert>"""


def write_scenario(tmp_path, offsets):
    docs = []
    for i, off in enumerate(offsets):
        (tmp_path / f"{i}.xml").write_text(SCENARIO_DOC % (i, i), encoding="utf-8")
        docs.append({"offset_seconds": off, "feed": "cap", "file": f"{i}.xml"})
    (tmp_path / "scenario.json").write_text(json.dumps({"name": "t", "documents": docs}))
    return tmp_path


async def feed_ids(client, url):
    r = await client.get(url)
    return [i.entry_id for i in parse_feed(r.content, max_bytes=10**6)]


async def test_documents_are_published_in_offset_order_and_not_before_due(tmp_path):
    folder = write_scenario(tmp_path, [0, 1.5])
    server = await FeedServer().start()
    seen_at_first_publish: list[list[str]] = []
    first_published = asyncio.Event()
    try:
        replay = asyncio.create_task(run_replay(folder, speed=1.0, server=server, on_publish=lambda p: first_published.set()))
        await asyncio.wait_for(first_published.wait(), timeout=10)
        async with httpx.AsyncClient() as client:
            seen_at_first_publish.append(await feed_ids(client, server.feed_url("cap")))
            published = await asyncio.wait_for(replay, timeout=20)
            after = await feed_ids(client, server.feed_url("cap"))
    finally:
        await server.stop()
    assert [p.file for p in published] == ["0.xml", "1.xml"]
    # The second document (due 1.5 s later) was not on the feed when the first appeared.
    assert seen_at_first_publish[0] == [published[0].entry_id]
    assert sorted(after) == sorted(p.entry_id for p in published)


async def test_each_run_renders_fresh_identifiers(tmp_path):
    folder = write_scenario(tmp_path, [0])
    a = dict(render_scenario(folder))["0.xml"]
    b = dict(render_scenario(folder))["0.xml"]
    assert b"{{" not in a and a != b


def test_scenario_with_unknown_feed_is_refused(tmp_path):
    (tmp_path / "a.xml").write_text("<x/>")
    (tmp_path / "scenario.json").write_text(json.dumps({"documents": [{"offset_seconds": 0, "feed": "nhk", "file": "a.xml"}]}))
    with pytest.raises(ScenarioError):
        load_scenario(tmp_path)


def test_shipped_scenario_is_valid():
    spec = load_scenario("fukushima_quake_then_rain")
    assert {d.feed for d in spec.documents} == {"eqvol", "extra", "cap"}
