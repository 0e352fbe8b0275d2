"""``bousai demo load``: demo households for make run, idempotent."""

from __future__ import annotations

from sqlalchemy import text


async def test_demo_load_is_idempotent_and_tokens_work(db_url, engine, app, client):
    from alerts.demo import HOUSEHOLDS, load_demo

    await load_demo(db_url, quiet=True)
    rows = await load_demo(db_url, quiet=True)
    async with engine.connect() as conn:
        n = (await conn.execute(text("SELECT count(*) FROM residents"))).scalar()
        homes = (await conn.execute(text("SELECT count(*) FROM places WHERE kind = 'home'"))).scalar()
    assert n == len(HOUSEHOLDS) == len(rows)
    assert homes == len(HOUSEHOLDS)
    me = await client.get("/v1/me/places", headers={"Authorization": f"Bearer {rows[0]['token']}"})
    assert me.status_code == 200
    assert me.json()[0]["area"]["municipality"]["code"] == "072044"
    async with engine.connect() as conn:
        plans = (await conn.execute(text("SELECT count(*) FROM evacuation_plans"))).scalar()
        groups = (await conn.execute(text(
            "SELECT g.name, count(m.*) FROM family_groups g JOIN family_members m ON m.group_id = g.id GROUP BY g.name"
        ))).all()
    assert plans == 4  # the demo's pushes carry a household's own plan out of the box
    assert sorted(groups) == [("いわきの家族", 2), ("小名浜・福島", 2)]
    plan = await client.get("/v1/me/plan", headers={"Authorization": f"Bearer {rows[0]['token']}"})
    assert plan.status_code == 200 and plan.json()["body"]["members"]
