"""Shelters for the live-shelter tests (no capacity set up front), and residents whose plans name one."""

from __future__ import annotations

import orjson
from sqlalchemy import text

from tests.kits.staff import FUKUSHIMA, FUKUSHIMA_POINT, KORIYAMA, KORIYAMA_POINT

S_FUK = "072010-test-1"
S_FUK2 = "072010-test-2"
S_KOR = "072036-test-1"


async def add_live_shelters(engine):
    async with engine.begin() as conn:
        for sid, muni, (lat, lon), name in (
            (S_FUK, FUKUSHIMA, FUKUSHIMA_POINT, "渡利小学校"),
            (S_FUK2, FUKUSHIMA, (FUKUSHIMA_POINT[0] + 0.05, FUKUSHIMA_POINT[1]), "福島第一体育館"),
            (S_KOR, KORIYAMA, KORIYAMA_POINT, "郡山市民体育館"),
        ):
            await conn.execute(text(
                "INSERT INTO shelters (id, name, municipality_code, geom, hazards, capacity, source) "
                "VALUES (:id, :n, :m, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), ARRAY['flood'], 100, 'staff')"),
                {"id": sid, "n": name, "m": muni, "lat": lat, "lon": lon})


async def residents_with_plans(engine, shelter_id: str, n: int) -> list[int]:
    body = orjson.dumps({"destinations": [{"id": "d1", "kind": "shelter", "shelter_id": shelter_id}]}).decode()
    async with engine.begin() as conn:
        ids = [r[0] for r in await conn.execute(text(
            "INSERT INTO residents (language) SELECT CASE WHEN g % 2 = 0 THEN 'ja' ELSE 'en' END "
            "FROM generate_series(1, :n) g RETURNING id"), {"n": n})]
        await conn.execute(text(
            """WITH p AS (INSERT INTO evacuation_plans (resident_id, current_version)
                          SELECT unnest(CAST(:ids AS bigint[])), 1 RETURNING id)
               INSERT INTO evacuation_plan_versions (plan_id, version, body, completeness)
               SELECT id, 1, CAST(:body AS jsonb), 50 FROM p"""), {"ids": ids, "body": body})
    return ids
