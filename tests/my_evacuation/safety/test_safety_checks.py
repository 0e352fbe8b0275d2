"""Safety checks: start from a strong event, one per member per event, answers, reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from my_evacuation.safety.service import send_due_reminders
from tests.kits.residents import ONAHAMA
from tests.kits.family import family, notifications
from tests.kits.safety import QUAKE, start

async def remind(app, now):
    async with app.state.sessionmaker() as s:
        n = await send_due_reminders(s, now=now)
        await s.commit()
        return n


async def test_strong_quake_starts_one_check_per_member_per_event(client, new_resident, app):
    people, gid = await family(client, new_resident)
    ids = [rid for _, rid in people]
    assert await start(app, ids) == 3
    # Updates of the same event (a later 震源・震度情報) add nothing.
    assert await start(app, ids, {**QUAKE, "areas": [{"code": "250", "intensity": "6-"}]}, alert_id=2) == 0
    prompts = await notifications(app, "safety_check")
    assert sorted(p["resident_id"] for p in prompts) == sorted(ids)
    assert prompts[0]["title"] == "安否確認" and "震度5強の地震" in prompts[0]["body"]
    checks = (await client.get("/v1/me/safety-checks", headers=people[0][0])).json()
    assert len(checks) == 1 and checks[0]["reason"] == "intensity:5+"


async def test_weak_or_elsewhere_or_drill_starts_nothing(client, new_resident, app):
    _, rid, _ = await new_resident()  # home in 中通り (250)
    weak = {**QUAKE, "areas": [{"code": "250", "intensity": "4"}, {"code": "251", "intensity": "6+"}]}
    assert await start(app, [rid], weak) == 0
    assert await start(app, [rid], {**QUAKE, "is_drill": True}) == 0
    assert await start(app, [rid], {"category": "evacuation", "level": 3, "event_id": "e3"}) == 0
    assert await start(app, [rid], {"category": "weather_warning", "event_id": "w"}) == 0


async def test_tsunami_warning_evacuation_order_and_jalert_start_checks(client, new_resident, app):
    _, coastal, _ = await new_resident(home=ONAHAMA)
    _, inland, _ = await new_resident()
    tsunami = {"source": "jma", "event_id": "t1", "category": "tsunami",
               "areas": [{"code": "250", "tsunami_grade": "warning"}]}
    assert await start(app, [coastal, inland], tsunami) == 1
    assert await start(app, [inland], {"source": "cap", "event_id": "ev4", "category": "evacuation", "level": 4}) == 1
    assert await start(app, [inland], {"source": "cap", "event_id": "j1", "category": "civil_protection"}) == 1


async def test_answer_reaches_every_other_member_once_and_stops_reminders(client, new_resident, app):
    people, gid = await family(client, new_resident)
    (father, father_id), (mother, mother_id), (grandma, grandma_id) = people
    await start(app, [father_id, mother_id, grandma_id])
    check_id = (await client.get("/v1/me/safety-checks", headers=mother)).json()[0]["id"]
    r = await client.post(f"/v1/safety-checks/{check_id}/answer", headers=mother)
    assert r.status_code == 200 and r.json()["answered"] is True and r.json()["status"]["status"] == "safe"
    again = await client.post(f"/v1/safety-checks/{check_id}/answer", headers=mother)
    assert again.json()["answered"] is False
    told = await notifications(app, "family_status")
    assert sorted(n["resident_id"] for n in told) == sorted([father_id, grandma_id])
    # Someone else's check is not yours.
    assert (await client.post(f"/v1/safety-checks/{check_id}/answer", headers=father)).status_code == 404

    # Reminders: only unanswered members, and the family hears who has not answered.
    soon = datetime.now(UTC) + timedelta(minutes=11)
    assert await remind(app, soon) == 2
    reminders = await notifications(app, "safety_reminder")
    assert sorted(n["resident_id"] for n in reminders) == sorted([father_id, grandma_id])
    pending = await notifications(app, "safety_pending")
    assert [n["resident_id"] for n in pending] == [mother_id]
    assert pending[0]["body"] == "まだ回答のない家族: 父、祖母"
    assert await remind(app, soon) == 0  # not due again yet


async def test_reminders_grow_and_stop(client, new_resident, app):
    _, rid, _ = await new_resident()
    await start(app, [rid])
    t0 = datetime.now(UTC)
    sent_at = []
    for minutes in (11, 11 + 31, 42 + 121, 163 + 361, 524 + 10_000):
        if await remind(app, t0 + timedelta(minutes=minutes)):
            sent_at.append(minutes)
    assert sent_at == [11, 42, 163, 524]
    async with app.state.sessionmaker() as s:
        row = (await s.execute(text("SELECT reminders_sent, next_reminder_at FROM safety_checks"))).one()
    assert row.reminders_sent == 4 and row.next_reminder_at is None


async def test_posting_a_status_answers_open_checks(client, new_resident, app):
    headers, rid, _ = await new_resident()
    await start(app, [rid])
    await client.put("/v1/me/safety", headers=headers, json={"status": "need_help", "message": "足をけがした"})
    checks = (await client.get("/v1/me/safety-checks", headers=headers)).json()
    assert checks[0]["answer_status"] == "need_help" and checks[0]["answered_at"] is not None
    assert await remind(app, datetime.now(UTC) + timedelta(hours=1)) == 0
