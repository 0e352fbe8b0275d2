"""5,000 check-ins in a minute at one shelter — a thousand of them sent twice at the same
moment (phones flushing their queues) — none lost, none counted twice, occupancy exact.
No timing is asserted (shared machines); the figure is printed."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from geo.shelters import codes
from alerts.evacuees import service
from alerts.evacuees.schemas import CheckinIn
from server.db import unit_of_work
from tests.kits.evacuees import S_FUK, add_shelters

N = 5000
DUPLICATES = 1000
# Like an API process's pool: more sessions than this only queue behind the shelter's row lock.
CONCURRENCY = 16


async def test_5000_checkins_at_one_shelter_none_lost_none_double_counted(app, engine):
    await add_shelters(engine, capacity=20_000)
    async with engine.begin() as conn:
        residents = [r[0] for r in await conn.execute(text(
            "INSERT INTO residents (language) SELECT 'ja' FROM generate_series(1, :n) RETURNING id"), {"n": N})]
    async with unit_of_work(app.state.sessionmaker) as s:
        url = (await codes.code_for(s, S_FUK, 1)).url
    rng = random.Random(15)
    now = datetime.now(UTC)
    jobs = [(rid, CheckinIn(client_id=f"phone-{rid}", code=url, at=now - timedelta(seconds=rng.randint(0, 3600)),
                            headcount=rng.randint(1, 4))) for rid in residents]
    expected = sum(j[1].headcount for j in jobs)
    jobs += rng.sample(jobs, DUPLICATES)  # the same check-ins again, in the same storm
    rng.shuffle(jobs)
    gate = asyncio.Semaphore(CONCURRENCY)
    answers: list[dict] = []

    async def one(rid, body):
        async with gate:
            async with unit_of_work(app.state.sessionmaker) as s:
                answers.append(await service.check_in(s, rid, body))

    t0 = time.perf_counter()
    await asyncio.gather(*(one(rid, body) for rid, body in jobs))
    elapsed = time.perf_counter() - t0
    print(f"\n{len(jobs)} check-ins ({DUPLICATES} repeats) at one shelter in {elapsed:.1f} s "
          f"({len(jobs) / elapsed:.0f}/s, concurrency {CONCURRENCY})")

    assert sum(1 for a in answers if a["duplicate"]) == DUPLICATES
    assert sum(a["headcount"] for a in answers if not a["duplicate"]) == expected
    async with engine.connect() as conn:
        rows, people = (await conn.execute(text(
            "SELECT count(*), sum(headcount) FROM shelter_checkins WHERE shelter_id = :s AND state = 'in'"),
            {"s": S_FUK})).one()
        checked_in, occupancy = (await conn.execute(text(
            "SELECT checked_in, occupancy FROM shelters WHERE id = :s"), {"s": S_FUK})).one()
        at_shelter = (await conn.execute(text(
            "SELECT count(*) FROM safety_statuses WHERE status = 'at_shelter' AND shelter_id = :s"), {"s": S_FUK})).scalar()
        history = (await conn.execute(text("SELECT count(*) FROM safety_status_history"))).scalar()
    assert (rows, people) == (N, expected)
    assert (checked_in, occupancy) == (expected, expected)
    assert at_shelter == N and history == N  # each resident's status set once, repeats changed nothing
