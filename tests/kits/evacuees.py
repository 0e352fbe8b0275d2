"""Helpers for check-in / roster tests: shelters, residents with plans, family groups."""

from __future__ import annotations

import itertools

from sqlalchemy import text

from tests.kits.staff import FUKUSHIMA, FUKUSHIMA_POINT, KORIYAMA, KORIYAMA_POINT

S_FUK = "gsi:E0720100999111"
S_FUK2 = "072010:0002"
S_KOR = "gsi:E0720360999111"
_tokens = itertools.count(1)

PLAN = {
    "members": [
        {"id": "grandma", "label": "祖母", "age_band": "75+", "needs_help_to_move": True, "medical_needs": "血圧の薬"},
        {"id": "father", "label": "父", "age_band": "40-64", "pets": ["犬"]},
        {"id": "kid", "label": "長男", "age_band": "6-12"},
    ],
}


async def add_shelters(engine, capacity: int = 100):
    async with engine.begin() as conn:
        for sid, muni, (lat, lon), name in (
            (S_FUK, FUKUSHIMA, FUKUSHIMA_POINT, "渡利小学校"),
            (S_FUK2, FUKUSHIMA, (FUKUSHIMA_POINT[0] + 0.01, FUKUSHIMA_POINT[1]), "福島第二体育館"),
            (S_KOR, KORIYAMA, KORIYAMA_POINT, "郡山市民体育館"),
        ):
            await conn.execute(text(
                "INSERT INTO shelters (id, name, municipality_code, geom, hazards, capacity, is_open, source, "
                "is_evacuation_center) VALUES (:id, :n, :m, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), "
                "ARRAY['flood'], :cap, true, 'staff', true)"),
                {"id": sid, "n": name, "m": muni, "lat": lat, "lon": lon, "cap": capacity})


async def new_resident(client, home=FUKUSHIMA_POINT, plan: dict | None = None):
    r = await client.post("/v1/devices", json={"platform": "android", "language": "ja",
                                               "fcm_token": f"tok-evac-{next(_tokens)}"})
    assert r.status_code == 201, r.text
    body = r.json()
    h = {"Authorization": f"Bearer {body['token']}"}
    if home is not None:
        p = await client.post("/v1/me/places", headers=h, json={"kind": "home", "lat": home[0], "lon": home[1]})
        assert p.status_code == 201, p.text
    if plan is not None:
        p = await client.put("/v1/me/plan", headers=h, json=plan)
        assert p.status_code == 200, p.text
    return h, body["resident_id"]


async def family_of(client, owner, others):
    """owner and others: headers. One group; returns its id."""
    g = (await client.post("/v1/groups", headers=owner, json={"name": "山田家", "display_name": "父"})).json()
    for i, h in enumerate(others):
        code = (await client.post(f"/v1/groups/{g['id']}/invites", headers=owner, json={})).json()["code"]
        r = await client.post("/v1/groups/join", headers=h, json={"code": code, "display_name": f"家族{i}"})
        assert r.status_code == 200, r.text
    return g["id"]


async def notifications(engine, kind: str):
    async with engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT resident_id, dedupe_key, body, data FROM notifications WHERE kind = :k ORDER BY id"), {"k": kind})
        return [dict(r._mapping) for r in rows]


async def shelter_row(engine, sid: str) -> dict:
    async with engine.connect() as conn:
        return dict((await conn.execute(text(
            "SELECT checked_in, occupancy, capacity, is_open FROM shelters WHERE id = :id"), {"id": sid})).one()._mapping)
