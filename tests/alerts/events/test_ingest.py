"""Ingest: one row per document, events track their lifecycle, outbox only for new alerts."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from alerts.events.models import Alert, AlertEvent, AlertOutbox
from alerts.events.service import InvalidAlert, ingest
from tests.kits.event_docs import quake_doc, weather_doc


async def count(session, model) -> int:
    return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def test_same_document_twice_is_stored_once_with_one_outbox_row(session):
    doc = quake_doc("20261122100000", "jma-q-1")
    first = await ingest(session, doc)
    second = await ingest(session, doc)
    assert first.created and not second.created
    assert second.alert_id == first.alert_id and second.event_id == first.event_id
    assert await count(session, Alert) == 1
    assert await count(session, AlertOutbox) == 1


async def test_alert_row_keeps_payload_area_codes_and_drill_flag(session):
    doc = quake_doc("20261122100000", "jma-q-2")
    doc["is_drill"] = True
    res = await ingest(session, doc)
    alert = await session.get(Alert, res.alert_id)
    assert alert.area_codes == ["250"]
    assert alert.payload["headline"] == "震度５強"
    assert alert.is_drill is True
    assert alert.msg_type == "alert" and alert.category == "earthquake"


async def test_correction_attaches_to_event_and_marks_it_updated(session):
    a = await ingest(session, quake_doc("E1", "s1"))
    b = await ingest(session, quake_doc("E1", "s2", msg_type="update", issued_at="2026-11-22T10:05:00+09:00"))
    assert a.event_id == b.event_id
    event = await session.get(AlertEvent, a.event_id, populate_existing=True)
    assert event.state == "updated"
    assert event.latest_alert_id == b.alert_id
    assert await count(session, AlertOutbox) == 2


async def test_cancellation_marks_event_cancelled(session):
    a = await ingest(session, quake_doc("E2", "s1"))
    await ingest(session, quake_doc("E2", "s2", msg_type="cancel", issued_at="2026-11-22T10:03:00+09:00"))
    event = await session.get(AlertEvent, a.event_id, populate_existing=True)
    assert event.state == "cancelled"


async def test_older_document_arriving_late_does_not_roll_state_back(session):
    a = await ingest(session, quake_doc("E3", "s2", msg_type="cancel", issued_at="2026-11-22T10:03:00+09:00"))
    late = await ingest(session, quake_doc("E3", "s1", issued_at="2026-11-22T10:00:00+09:00"))
    assert late.created
    event = await session.get(AlertEvent, a.event_id, populate_existing=True)
    assert event.state == "cancelled"
    assert event.latest_alert_id == a.alert_id
    assert event.first_issued_at.isoformat().startswith("2026-11-22T01:00:00")


async def test_warning_document_with_every_status_lifted_clears_event(session):
    a = await ingest(session, weather_doc("W1", "w1", "2026-11-22T10:00:00+09:00", ["発表"]))
    ev = await session.get(AlertEvent, a.event_id, populate_existing=True)
    assert ev.state == "active" and ev.max_severity == "Severe"
    await ingest(session, weather_doc("W1", "w2", "2026-11-22T12:00:00+09:00", ["継続", "解除"]))
    ev = await session.get(AlertEvent, a.event_id, populate_existing=True)
    assert ev.state == "updated"
    await ingest(session, weather_doc("W1", "w3", "2026-11-22T15:00:00+09:00", ["解除", "解除"]))
    ev = await session.get(AlertEvent, a.event_id, populate_existing=True)
    assert ev.state == "cleared"
    assert ev.max_severity == "Severe"  # the highest ever issued stays


async def test_cap_evacuation_level_zero_clears_event(session):
    base = {
        "source": "cap",
        "file": None,
        "event_id": "urn:bousai:072044:evac:1",
        "category": "evacuation",
        "headline": "避難指示",
        "severity": "Extreme",
        "expires_at": None,
        "areas": [{"code": "072044", "name": "いわき市"}],
        "geometry": None,
        "status": "Actual",
        "is_drill": False,
    }
    a = await ingest(session, {**base, "msg_type": "alert", "source_id": "c1", "issued_at": "2026-11-22T10:00:00+09:00", "level": 4})
    await ingest(session, {**base, "msg_type": "update", "source_id": "c2", "issued_at": "2026-11-22T18:00:00+09:00", "level": 0})
    ev = await session.get(AlertEvent, a.event_id, populate_existing=True)
    assert ev.state == "cleared"


async def test_polygon_geometry_is_stored_as_multipolygon(session):
    doc = quake_doc("G1", "g1")
    doc["geometry"] = {
        "type": "Polygon",
        "coordinates": [[[140.8, 37.0], [140.9, 37.0], [140.9, 37.1], [140.8, 37.1], [140.8, 37.0]]],
    }
    res = await ingest(session, doc)
    geom_type = (
        await session.execute(select(func.GeometryType(Alert.geom)).where(Alert.id == res.alert_id))
    ).scalar_one()
    assert geom_type == "MULTIPOLYGON"
    inside = (
        await session.execute(
            select(func.count()).where(
                Alert.id == res.alert_id, func.ST_Intersects(Alert.geom, func.ST_SetSRID(func.ST_MakePoint(140.85, 37.05), 4326))
            )
        )
    ).scalar_one()
    assert inside == 1


@pytest.mark.parametrize(
    "broken",
    [{"source": "nhk"}, {"source_id": ""}, {"msg_type": "ack"}, {"issued_at": "yesterday"}, {"issued_at": "2026-11-22T10:00:00"}],
)
async def test_alert_missing_what_storage_needs_is_refused(session, broken):
    with pytest.raises(InvalidAlert):
        await ingest(session, {**quake_doc("X", f"x-{uuid.uuid4()}"), **broken})
    assert await count(session, Alert) == 0


async def test_tsunami_forecast_after_advisory_clears_event(session):
    def tsunami(source_id, grade, issued_at):
        d = quake_doc("T1", source_id, issued_at=issued_at)
        d.update(category="tsunami", areas=[{"code": "250", "name": "福島県", "tsunami_grade": grade}])
        return d

    a = await ingest(session, tsunami("t1", "advisory", "2026-11-22T10:00:00+09:00"))
    await ingest(session, tsunami("t2", "forecast", "2026-11-22T12:00:00+09:00"))
    ev = await session.get(AlertEvent, a.event_id, populate_existing=True)
    assert ev.state == "cleared"


async def test_quake_and_tsunami_sharing_a_jma_event_id_are_separate_events(session):
    quake = await ingest(session, quake_doc("20261122100000", "q1"))
    tsunami_doc = {**quake_doc("20261122100000", "t1"), "category": "tsunami", "headline": "津波注意報",
                   "areas": [{"code": "250", "name": "福島県", "tsunami_grade": "advisory"}]}
    tsunami = await ingest(session, tsunami_doc)
    assert quake.event_id != tsunami.event_id
    cancel = {**tsunami_doc, "source_id": "t2", "msg_type": "cancel", "issued_at": "2026-11-22T10:05:00+09:00"}
    await ingest(session, cancel)
    assert (await session.get(AlertEvent, tsunami.event_id, populate_existing=True)).state == "cancelled"
    assert (await session.get(AlertEvent, quake.event_id, populate_existing=True)).state == "active"


async def test_cap_cancel_without_info_joins_the_event_it_references(session):
    base = {
        "source": "cap", "file": None, "event_id": "urn:bousai:072044:evac:9", "headline": "避難指示",
        "severity": "Extreme", "expires_at": None, "areas": [{"code": "072044", "name": "いわき市"}],
        "geometry": None, "status": "Actual", "is_drill": False,
    }
    a = await ingest(session, {**base, "category": "evacuation", "msg_type": "alert", "source_id": "e1",
                               "issued_at": "2026-11-22T10:00:00+09:00", "level": 4})
    # A CAP Cancel with no <info> block: the parser cannot tell its category.
    c = await ingest(session, {**base, "category": "other", "severity": "Unknown", "areas": [], "msg_type": "cancel",
                               "source_id": "e2", "issued_at": "2026-11-22T10:30:00+09:00"})
    assert c.event_id == a.event_id
    assert (await session.get(AlertEvent, a.event_id, populate_existing=True)).state == "cancelled"
