"""End-to-end helpers: residents with places and plans (through the resident API), and the
delivery pipeline run in-process (fan-out, then the log push provider records the sends)."""

from __future__ import annotations

import copy
import itertools

from sqlalchemy import text

from alerts.delivery.service import fan_out
from my_evacuation.push.jobs import build_sender
from tests.kits.residents import FULL_PLAN, WATARI

_tokens = itertools.count(1)
# 渡利地区 (福島市), drawn as a square of ~2 km around WATARI; a point outside it but in 福島市.
WATARI_DISTRICT = {
    "type": "Polygon",
    "coordinates": [[[WATARI[1] - 0.012, WATARI[0] - 0.01], [WATARI[1] + 0.012, WATARI[0] - 0.01],
                     [WATARI[1] + 0.012, WATARI[0] + 0.01], [WATARI[1] - 0.012, WATARI[0] + 0.01],
                     [WATARI[1] - 0.012, WATARI[0] - 0.01]]],
}
FUKUSHIMA_NOT_WATARI = (37.80029, 140.40152)
SCHOOL = ("S-SCHOOL", WATARI[0] + 0.005, WATARI[1], "渡利小学校")


async def add_school(engine) -> None:
    sid, lat, lon, name = SCHOOL
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO shelters (id, name, municipality_code, geom, hazards, capacity, source, is_emergency_site, "
            "is_evacuation_center, is_open) VALUES (:id, :n, '072010', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), "
            "ARRAY['flood'], 300, 'csv', true, true, true) ON CONFLICT (id) DO NOTHING"),
            {"id": sid, "n": name, "lat": lat, "lon": lon})


async def new_resident(client, home: tuple[float, float], *, language: str = "ja", plan: bool = False,
                       preferences: dict | None = None, engine=None) -> int:
    r = await client.post("/v1/devices", json={"platform": "android", "language": language,
                                               "fcm_token": f"tok-e2e-{next(_tokens)}"})
    assert r.status_code == 201, r.text
    body = r.json()
    headers = {"Authorization": f"Bearer {body['token']}"}
    p = await client.post("/v1/me/places", headers=headers, json={"kind": "home", "lat": home[0], "lon": home[1]})
    assert p.status_code == 201, p.text
    if plan:
        r = await client.put("/v1/me/plan", headers=headers, json=copy.deepcopy(FULL_PLAN))
        assert r.status_code == 200, r.text
    if preferences is not None:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE residents SET preferences = CAST(:p AS jsonb) WHERE id = :id"),
                               {"p": __import__("json").dumps(preferences), "id": body["resident_id"]})
    return body["resident_id"]


async def deliver(app, alert_id: int) -> None:
    """What the worker does for an ``alerts:new`` entry, and then for its push jobs."""
    await fan_out(app.state.sessionmaker, app.state.redis, alert_id)
    async with app.state.sessionmaker() as s:
        ids = [r[0] for r in await s.execute(
            text("SELECT id FROM push_messages WHERE alert_id = :a AND status = 'queued' ORDER BY id"), {"a": alert_id})]
    sender = await build_sender(app.state.settings, app.state.sessionmaker, app.state.redis)
    try:
        if ids:
            await sender.send_job(ids)
    finally:
        await sender.aclose()


async def pushes(engine, alert_id: int) -> dict[int, list[dict]]:
    """resident → the pushes recorded for this alert (title, body, status)."""
    async with engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT resident_id, title, body, status, data FROM push_messages WHERE alert_id = :a ORDER BY id"),
            {"a": alert_id})
        out: dict[int, list[dict]] = {}
        for r in rows:
            out.setdefault(r.resident_id, []).append(dict(r._mapping))
        return out
