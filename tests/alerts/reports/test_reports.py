"""Reports: safety answers aggregated by area inside the operator's scope (counts, never people),
delivery figures scoped to the operator's municipality, CSV export."""

from __future__ import annotations

import csv
import io

from sqlalchemy import text

from tests.kits.reports import add_answers
from tests.kits.staff import FUKUSHIMA, FUKUSHIMA_POINT, KORIYAMA, KORIYAMA_POINT, staff_headers


async def test_safety_answers_by_area_stay_inside_the_scope(app, client, engine):
    f_lat, f_lon = FUKUSHIMA_POINT
    rows = ([(FUKUSHIMA, (f_lat, f_lon), "need_help")] * 3 + [(FUKUSHIMA, (f_lat + 0.1, f_lon), "need_help")]
            + [(FUKUSHIMA, (f_lat, f_lon), "safe")] * 2 + [(FUKUSHIMA, (f_lat, f_lon), None)]
            + [(KORIYAMA, KORIYAMA_POINT, "need_help")] * 4)
    await add_answers(engine, "cap:e1", rows)
    await add_answers(engine, "cap:other", [(FUKUSHIMA, (f_lat, f_lon), "need_help")])
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    rep = (await client.get("/v1/staff/reports/safety", headers=op, params={"event_key": "cap:e1"})).json()
    assert rep["scope"] == FUKUSHIMA
    assert rep["by_municipality"] == [{"municipality_code": FUKUSHIMA, "total": 7,
                                       "counts": {"need_help": 4, "safe": 2, "unanswered": 1}}]
    # Where help is needed: a ~1 km cell with 3, and the lone household is not put on the map.
    assert [(c["need_help"], c["municipality_code"]) for c in rep["need_help_cells"]] == [(3, FUKUSHIMA)]
    assert rep["need_help_not_mapped"] == 1
    assert "resident" not in str(rep)
    r = await client.get("/v1/staff/reports/safety", headers=op, params={"municipality_code": KORIYAMA})
    assert r.status_code == 403
    pref = await staff_headers(app, client, "viewer")
    rep = (await client.get("/v1/staff/reports/safety", headers=pref, params={"event_key": "cap:e1"})).json()
    assert [m["municipality_code"] for m in rep["by_municipality"]] == [FUKUSHIMA, KORIYAMA]
    r = await client.get("/v1/staff/reports/safety.csv", headers=pref, params={"event_key": "cap:e1"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert [(t["municipality_code"], t["total"], t["need_help"]) for t in table] == [(FUKUSHIMA, "7", "4"), (KORIYAMA, "4", "4")]


async def test_alert_figures_count_only_residents_in_scope(app, client, engine):
    from datetime import UTC, datetime, timedelta

    from alerts.events.service import ingest

    async with app.state.sessionmaker() as s:
        res = await ingest(s, {"source": "cap", "source_id": "t,1,1", "event_id": "t1", "msg_type": "alert",
                               "issued_at": (datetime.now(UTC) - timedelta(seconds=30)).isoformat(),
                               "category": "heavy_rain", "severity": "Severe",
                               "areas": [{"code": FUKUSHIMA}, {"code": KORIYAMA}]})
        await s.commit()
    async with engine.begin() as conn:
        for i, (muni, point, status, kind) in enumerate([
            (FUKUSHIMA, FUKUSHIMA_POINT, "ok", "fcm_token"), (FUKUSHIMA, FUKUSHIMA_POINT, "dead_token", "apns"),
            (KORIYAMA, KORIYAMA_POINT, "ok", "webpush"),
        ]):
            rid = (await conn.execute(text("INSERT INTO residents DEFAULT VALUES RETURNING id"))).scalar_one()
            await conn.execute(text(
                "INSERT INTO places (resident_id, kind, geom, municipality_code) "
                "VALUES (:r, 'home', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :m)"),
                {"r": rid, "lat": point[0], "lon": point[1], "m": muni})
            dev = (await conn.execute(text(
                "INSERT INTO devices (resident_id, platform, push_kind, push_token, token_hash, language) "
                "VALUES (:r, 'android', :k, :t, :h, 'ja') RETURNING id"),
                {"r": rid, "k": kind, "t": f"tok-{i}", "h": bytes([i]) * 32})).scalar_one()
            delivery = (await conn.execute(text(
                "INSERT INTO deliveries (resident_id, event_id, category, status, rank, max_rank, first_alert_id, "
                "last_alert_id) VALUES (:r, :e, 'heavy_rain', 'told', 3, 3, :a, :a) RETURNING id"),
                {"r": rid, "e": res.event_id, "a": res.alert_id})).scalar_one()
            await conn.execute(text(
                "INSERT INTO push_messages (message_id, resident_id, device_id, delivery_id, alert_id, title, body, "
                "status, sent_at) VALUES (:m, :r, :d, :dl, :a, 't', 'b', :s, CASE WHEN :ok THEN now() END)"),
                {"m": f"m{i}", "r": rid, "d": dev, "dl": delivery, "a": res.alert_id, "s": status, "ok": status == "ok"})
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    [rep] = (await client.get("/v1/staff/reports/alerts", headers=op)).json()
    assert rep["targeted"] == 2 and rep["pushes"] == {"sent": 1, "failed": 1, "queued": 0, "total": 2}
    assert rep["by_provider"] == {"apns": {"dead_token": 1}, "fcm_token": {"ok": 1}}
    assert rep["seconds_to_first_push"] >= 25
    pref = await staff_headers(app, client, "prefecture")
    [rep] = (await client.get("/v1/staff/reports/alerts", headers=pref)).json()
    assert rep["targeted"] == 3 and rep["pushes"]["sent"] == 2
    r = await client.get("/v1/staff/reports/alerts.csv", headers=pref)
    table = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert table[0]["targeted"] == "3" and table[0]["failed"] == "1"
    active = (await client.get("/v1/staff/reports/active-alerts", headers=op)).json()
    assert [a["alert_id"] for a in active] == [res.alert_id]


async def test_active_alerts_are_those_still_in_force(app, client, engine):
    # An earthquake report has no expiry and nobody clears it: it counts for a day after its
    # last issue, then drops off the console's map (and out of every pull).
    from datetime import UTC, datetime, timedelta

    from sqlalchemy.ext.asyncio import async_sessionmaker

    from tests.kits.delivery import quake_doc, store, weather_doc

    def iso(hours: float) -> str:
        return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()

    sm = async_sessionmaker(engine)
    old_quake = await store(sm, quake_doc("q-day-old", {"250": "4"}, event_id="q-day-old", issued_at=iso(-25)))
    quake = await store(sm, quake_doc("q-now", {"250": "4"}, event_id="q-now", issued_at=iso(-1)))
    ran_out = await store(sm, {**weather_doc("w-out", [("大雨警報", "発表")], issued_at=iso(-3), event_id="w-out"),
                               "expires_at": iso(-1)})
    warning = await store(sm, {**weather_doc("w-on", [("大雨警報", "発表")], issued_at=iso(-3), event_id="w-on"),
                               "expires_at": iso(5)})
    # A document older than the event's latest (fetched out of order) does not move its end.
    await store(sm, {**weather_doc("w-on-older", [("大雨警報", "発表")], issued_at=iso(-4), event_id="w-on"),
                     "expires_at": iso(-2)})
    async with engine.connect() as conn:
        until = dict((await conn.execute(text(
            "SELECT a.id, e.in_force_until FROM alerts a JOIN alert_events e ON e.id = a.event_id "
            "WHERE a.id = ANY(:ids)"), {"ids": [old_quake, quake, ran_out, warning]})).all())
    now = datetime.now(UTC)
    assert until[old_quake] < now < until[quake] < now + timedelta(hours=24) < until[warning] + timedelta(hours=20)
    assert until[ran_out] < now
    op = await staff_headers(app, client, "prefecture")
    active = (await client.get("/v1/staff/reports/active-alerts", headers=op)).json()
    assert sorted(a["alert_id"] for a in active) == sorted([quake, warning])
