"""CAP shelter messages meet the registry: real ids open real shelters; unknown ids are
reported (audit, log), never dropped in silence; drills and stale messages change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from alerts.events.service import ingest
from alerts.feeds.replay import render_scenario
from alerts.shelters_live.cap_in import apply_alert
from alerts.sources import parse_document
from geo.shelters import repository as shelters_repo
from geo.shelters.loader import read_fixture
from server.db import unit_of_work

IWAKI = "072044"
DEMO_IDS = ("gsi:E0720400350112", "gsi:E0720400366111", "gsi:E0720400357111")  # 平第一小, 平第一中, 平体育館
IWAKI_CITY_HALL = (37.0505, 140.8877)


async def _registry(app, ids=DEMO_IDS):
    records = [r for r in read_fixture() if r.id in ids]
    assert len(records) == len(ids)
    async with unit_of_work(app.state.sessionmaker) as s:
        await shelters_repo.upsert_many(s, records)


async def _ingest_and_apply(app, xml: bytes):
    alerts = parse_document(xml, "test.xml")
    assert len(alerts) == 1
    async with unit_of_work(app.state.sessionmaker) as s:
        alert_id = (await ingest(s, alerts[0])).alert_id
    async with unit_of_work(app.state.sessionmaker) as s:
        return await apply_alert(s, alert_id), alert_id


def _cap(ids: list[str], *, status="Actual", sent: datetime | None = None, muni=IWAKI, ident="t-1", value="open") -> bytes:
    sent = (sent or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0).isoformat()
    params = "".join(f"<parameter><valueName>bousai:shelter-id</valueName><value>{i}</value></parameter>" for i in ids)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>urn:test:{ident}</identifier><sender>test@city.iwaki.lg.jp</sender><sent>{sent}</sent>
  <status>{status}</status><msgType>Alert</msgType><scope>Public</scope>
  <info><language>ja-JP</language><category>Shelter</category><event>避難所開設情報</event>
    <urgency>Expected</urgency><severity>Minor</severity><certainty>Observed</certainty>
    <eventCode><valueName>bousai:shelter-status</valueName><value>{value}</value></eventCode>
    <headline>避難所</headline>{params}
    <area><areaDesc>いわき市</areaDesc><geocode><valueName>JISX0402</valueName><value>{muni}</value></geocode></area>
  </info>
</alert>""".encode()


async def test_the_demo_scenario_opens_real_shelters_near_iwaki(app, client):
    await _registry(app)
    lat, lon = IWAKI_CITY_HALL
    r = await client.get("/v1/shelters", params={"lat": lat, "lon": lon, "open": "true"})
    assert r.json()["shelters"] == []
    doc = dict(render_scenario("fukushima_quake_then_rain"))["07_cap_shelter.xml"]
    result, _ = await _ingest_and_apply(app, doc)
    assert sorted(result["opened"]) == sorted(DEMO_IDS) and result["unknown"] == []
    r = await client.get("/v1/shelters", params={"lat": lat, "lon": lon, "open": "true"})
    got = r.json()["shelters"]
    assert {s["id"] for s in got} == set(DEMO_IDS) and all(s["is_open"] for s in got)
    assert got[0]["distance_m"] < 1500


async def test_ids_in_every_standard_form_resolve_and_unknown_ones_are_reported_once(app, engine):
    await _registry(app)
    async with unit_of_work(app.state.sessionmaker) as s:
        await shelters_repo.add_aliases(s, [(IWAKI, "0017", "gsi:E0720400357111")])
    ids = ["E0720400350112", f"{IWAKI}-0017", "072044-9999", "ghost"]
    result, _ = await _ingest_and_apply(app, _cap(ids, ident="forms"))
    assert sorted(result["opened"]) == ["gsi:E0720400350112", "gsi:E0720400357111"]
    assert [u["id"] for u in result["unknown"]] == ["072044-9999", "ghost"]
    async with engine.connect() as conn:
        audit = (await conn.execute(text(
            "SELECT actor_username, municipality_code, after FROM audit_log WHERE action = 'shelter.cap_unknown'"))).all()
        opened = (await conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'shelter.open'"))).scalar()
    assert len(audit) == 1 and audit[0][0] == "system" and audit[0][1] == IWAKI
    assert [u["id"] for u in audit[0][2]["unknown"]] == ["072044-9999", "ghost"]
    assert opened == 2
    # Handled again (a stream entry claimed by another worker): nothing more changes or is reported.
    async with unit_of_work(app.state.sessionmaker) as s:
        alert_id = (await s.execute(text("SELECT max(id) FROM alerts"))).scalar()
        again = await apply_alert(s, alert_id)
    assert again["opened"] == [] and sorted(again["unchanged"]) == ["gsi:E0720400350112", "gsi:E0720400357111"]
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM audit_log WHERE action LIKE 'shelter.%'"))).scalar() == 3
    # A closing issued before the opening (arriving late) loses; one issued after closes.
    early = datetime.now(UTC) - timedelta(minutes=5)
    result, _ = await _ingest_and_apply(app, _cap(["gsi:E0720400350112"], ident="close-early", value="close", sent=early))
    assert result["closed"] == [] and result["unchanged"] == ["gsi:E0720400350112"]
    later = datetime.now(UTC) + timedelta(seconds=2)
    result, _ = await _ingest_and_apply(app, _cap(["gsi:E0720400350112"], ident="close", value="close", sent=later))
    assert result["closed"] == ["gsi:E0720400350112"]


async def test_drills_and_stale_messages_change_nothing(app, client):
    await _registry(app)
    result, _ = await _ingest_and_apply(app, _cap(list(DEMO_IDS), status="Exercise", ident="drill"))
    assert result is None
    old = datetime.now(UTC) - timedelta(hours=7)
    result, _ = await _ingest_and_apply(app, _cap(list(DEMO_IDS), sent=old, ident="old"))
    assert result is None
    lat, lon = IWAKI_CITY_HALL
    assert (await client.get("/v1/shelters", params={"lat": lat, "lon": lon, "open": "true"})).json()["shelters"] == []


async def test_an_import_that_lands_on_a_gsi_row_keeps_the_municipal_number_as_an_alias(app):
    from geo.shelters import service
    from geo.shelters.records import ShelterRecord

    await _registry(app, ids=("gsi:E0720400350112",))
    municipal = ShelterRecord(id=f"{IWAKI}:0042", name="平第一小学校", municipality_code=IWAKI, lat=37.05848, lon=140.88545,
                              source="csv")
    async with unit_of_work(app.state.sessionmaker) as s:
        res = await service.import_records(s, [municipal])
        assert res.matched_existing == [(f"{IWAKI}:0042", "gsi:E0720400350112")]
        resolved = await service.resolve_refs(s, ["072044-0042", "0042", "gsi:E0720400350112", "E0720400350112", "zzz"],
                                              [IWAKI])
    assert resolved == {"072044-0042": "gsi:E0720400350112", "0042": "gsi:E0720400350112",
                        "gsi:E0720400350112": "gsi:E0720400350112", "E0720400350112": "gsi:E0720400350112", "zzz": None}


async def test_the_worker_opens_them_from_the_alert_stream_in_its_own_group(app, client, settings, engine, redis_client):
    """The path make run takes: ingest → outbox → ``alerts:new`` → this consumer group."""
    from alerts.events.outbox import ALERTS_STREAM, relay_outbox
    from server.worker import Worker, discover
    from tests.kits.worker import make_ctx, run_until

    handlers, _ = discover()
    mine = [h for h in handlers if h.stream == ALERTS_STREAM and h.group == "shelters_live"]
    assert len(mine) == 1
    await _registry(app)
    doc = dict(render_scenario("fukushima_quake_then_rain"))["07_cap_shelter.xml"]
    async with unit_of_work(app.state.sessionmaker) as s:
        await ingest(s, parse_document(doc, "07_cap_shelter.xml")[0])
    assert await relay_outbox(app.state.sessionmaker, redis_client) == 1
    worker = Worker(make_ctx(settings, engine, redis_client, "shelters"), mine, [])

    async def all_open():
        async with engine.connect() as conn:
            return (await conn.execute(text("SELECT count(*) FROM shelters WHERE is_open"))).scalar() == len(DEMO_IDS)

    await run_until(worker, all_open)
    lat, lon = IWAKI_CITY_HALL
    r = await client.get("/v1/shelters", params={"lat": lat, "lon": lon, "open": "true"})
    assert {s["id"] for s in r.json()["shelters"]} == set(DEMO_IDS)
