"""Tips (opt-in, language, quiet hours) and plan-review reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from my_evacuation.knowledge.service import check_shelter_changes, send_rainy_season_reminders, send_tips
from tests.kits.residents import WATARI, shelter_record
from tests.kits.family import notifications

NOON_JST = datetime(2026, 5, 25, 3, 0, tzinfo=UTC)  # 12:00 JST, in the pre-rainy-season window
MIDNIGHT_JST = datetime(2026, 5, 25, 15, 0, tzinfo=UTC)


async def run(app, fn, now):
    async with app.state.sessionmaker() as s:
        n = await fn(s, now)
        await s.commit()
        return n


async def test_tips_only_to_opted_in_in_their_language_outside_quiet_hours(client, new_resident, app):
    ja, ja_id, _ = await new_resident(language="ja")
    en, en_id, _ = await new_resident(language="en")
    _, silent_id, _ = await new_resident()
    assert (await client.get("/v1/me/knowledge", headers=ja)).json()["tips"] is False
    await client.put("/v1/me/knowledge", headers=ja, json={"tips": True, "quiet_start_hour": 22, "quiet_end_hour": 7})
    await client.put("/v1/me/knowledge", headers=en, json={"tips": True})
    assert await run(app, send_tips, MIDNIGHT_JST) == 1  # ja is asleep
    assert await run(app, send_tips, NOON_JST) == 1
    got = {n["resident_id"]: n for n in await notifications(app, "tip")}
    assert set(got) == {ja_id, en_id}
    assert got[en_id]["title"] == "Disaster-prevention tip" and got[ja_id]["title"] == "防災豆知識"
    assert silent_id not in got
    assert await run(app, send_tips, NOON_JST + timedelta(days=1)) == 0  # a week between tips
    assert await run(app, send_tips, NOON_JST + timedelta(days=8)) == 2
    bodies = [n["body"] for n in await notifications(app, "tip") if n["resident_id"] == en_id]
    assert len(bodies) == 2 and bodies[0] != bodies[1]


async def test_quiet_hours_must_come_in_pairs(client, new_resident):
    h, _, _ = await new_resident()
    r = await client.put("/v1/me/knowledge", headers=h, json={"tips": True, "quiet_start_hour": 22})
    assert r.status_code == 400
    assert (await client.put("/v1/me/knowledge", headers=h, json={"quiet_start_hour": 25, "quiet_end_hour": 1})).status_code == 422


async def test_rainy_season_reminder_once_a_year_to_plan_holders(client, new_resident, app):
    with_plan, rid, _ = await new_resident()
    opted_out, out_id, _ = await new_resident()
    await new_resident()  # no plan
    await client.put("/v1/me/plan", headers=with_plan, json={})
    await client.put("/v1/me/plan", headers=opted_out, json={})
    await client.put("/v1/me/knowledge", headers=opted_out, json={"reminders": False})
    assert await run(app, send_rainy_season_reminders, datetime(2026, 3, 1, 3, tzinfo=UTC)) == 0
    assert await run(app, send_rainy_season_reminders, NOON_JST) == 1
    assert await run(app, send_rainy_season_reminders, NOON_JST + timedelta(days=3)) == 0
    got = await notifications(app, "plan_review")
    assert [n["resident_id"] for n in got] == [rid] and "6月" in got[0]["body"]


async def test_shelter_designation_change_prompts_a_review(client, new_resident, add_shelters, full_plan, app):
    await add_shelters(shelter_record("S-SCHOOL", *WATARI, name="渡利小学校", hazards=("flood",)))
    h, rid, _ = await new_resident(language="en")
    await client.put("/v1/me/plan", headers=h, json=full_plan)
    assert await run(app, check_shelter_changes, NOON_JST) == 0  # first sight is recorded only
    assert await run(app, check_shelter_changes, NOON_JST) == 0
    await add_shelters(shelter_record("S-SCHOOL", *WATARI, name="渡利小学校", hazards=("earthquake",)))
    assert await run(app, check_shelter_changes, NOON_JST) == 1
    assert await run(app, check_shelter_changes, NOON_JST) == 0
    got = await notifications(app, "plan_review")
    assert got[0]["resident_id"] == rid and got[0]["body"].startswith('Your chosen shelter "渡利小学校" has changed')
