"""``bousai bench safety``: a safety check for N residents in N/4 family groups.

On a database of its own (``bousai_bench_safety``, rebuilt by the migrations): residents
with a home in 中通り, groups of 4, one 震度5強 report. Measured:

1. start — ``start_checks_for_alert`` for every resident (checks + one-tap prompts queued);
2. answers — every resident answers (one transaction each, ``--concurrency`` at a time), each
   answer fanned out to the other group members as notifications; per-answer latency.

Then it counts: exactly one prompt per resident and exactly one notification per (answer,
other member) — nothing lost, nothing twice. Baseline in the same run: the same number of
prompt rows queued by one bare ``enqueue_notification`` call (the floor the check logic
adds to).
"""

from __future__ import annotations

import asyncio
import statistics
import time

BENCH_DB = "bousai_bench_safety"
QUAKE = {"source": "jma", "event_id": "bench-quake", "msg_type": "alert", "category": "earthquake", "is_drill": False,
         "areas": [{"code": "250", "kind": "seismic_area", "intensity": "5+"}]}


def _prepare(url: str, residents: int, group_size: int) -> None:
    from sqlalchemy import create_engine, text

    from server.db import sync_url
    from server.dbsetup import create_database, upgrade

    create_database(url, drop=True)
    upgrade(url)
    eng = create_engine(sync_url(url))
    with eng.begin() as c:
        c.execute(text("INSERT INTO residents (language) SELECT CASE WHEN g % 10 = 0 THEN 'en' ELSE 'ja' END "
                       "FROM generate_series(1, :n) g"), {"n": residents})
        c.execute(text(
            """INSERT INTO places (resident_id, kind, geom, municipality_code, jma_city_code, quake_area_code)
               SELECT id, 'home', ST_SetSRID(ST_MakePoint(140.47 + (id % 100) * 0.001, 37.75), 4326), '072010',
                      '0720100', '250' FROM residents"""))
        c.execute(text("INSERT INTO family_groups (name, owner_id, max_members) "
                       "SELECT 'g' || g, (g - 1) * :s + 1, 20 FROM generate_series(1, :groups) g"),
                  {"s": group_size, "groups": residents // group_size})
        c.execute(text(
            """INSERT INTO family_members (group_id, resident_id, display_name, role)
               SELECT (id - 1) / :s + 1, id, 'm' || id, CASE WHEN (id - 1) % :s = 0 THEN 'owner' ELSE 'member' END
               FROM residents WHERE (id - 1) / :s + 1 <= :groups"""),
                  {"s": group_size, "groups": residents // group_size})
    with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        # Fresh bulk data has no statistics: without them the co-member join plans a scan per answer.
        c.execute(text("ANALYZE"))
    eng.dispose()


async def _run(url: str, residents: int, group_size: int, concurrency: int) -> int:
    from sqlalchemy import text

    from my_evacuation.family.schemas import StatusIn
    from my_evacuation.safety.service import answer_check, start_checks_for_alert
    from server.db import make_engine, make_sessionmaker, unit_of_work
    from my_evacuation.push.notifications import NotificationItem, enqueue_notification
    from server.settings import get_settings

    engine = make_engine(get_settings(), url=url, pool_size=concurrency + 2, max_overflow=0)
    sm = make_sessionmaker(engine)
    ids = list(range(1, residents + 1))

    # Baseline: the same number of bare notification rows in one call.
    t0 = time.perf_counter()
    async with unit_of_work(sm) as s:
        await enqueue_notification(s, [NotificationItem(i, "baseline", "baseline") for i in ids], kind="bench_baseline",
                                   dedupe_key="bench-baseline")
    baseline_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    async with unit_of_work(sm) as s:
        created = await start_checks_for_alert(s, 1, ids, QUAKE)
    start_s = time.perf_counter() - t0
    async with sm() as s:
        checks = dict((await s.execute(text("SELECT resident_id, id FROM safety_checks"))).all())

    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in ids:
        queue.put_nowait(i)

    async def answer_worker() -> None:
        while not queue.empty():
            rid = queue.get_nowait()
            a = time.perf_counter()
            async with unit_of_work(sm) as s:
                await answer_check(s, rid, checks[rid], StatusIn(status="safe"))
            latencies.append(time.perf_counter() - a)

    t0 = time.perf_counter()
    await asyncio.gather(*(answer_worker() for _ in range(concurrency)))
    answers_s = time.perf_counter() - t0

    async with sm() as s:
        prompts = (await s.execute(text("SELECT count(*), count(DISTINCT resident_id) FROM notifications WHERE kind = 'safety_check'"))).one()
        fan = (await s.execute(text(
            "SELECT count(*), count(DISTINCT (resident_id, dedupe_key)) FROM notifications WHERE kind = 'family_status'"))).one()
        answered = (await s.execute(text("SELECT count(*) FROM safety_checks WHERE answered_at IS NOT NULL"))).scalar_one()
    await engine.dispose()

    grouped = (residents // group_size) * group_size
    expected_fan = grouped * (group_size - 1)
    lat = sorted(latencies)
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
    print(f"residents {residents}, groups {residents // group_size} of {group_size}, answer concurrency {concurrency}")
    print(f"baseline  enqueue {residents} bare notifications: {baseline_s:.2f} s ({residents / baseline_s:,.0f}/s)")
    print(f"start     {created} checks + prompts: {start_s:.2f} s ({created / start_s:,.0f}/s)")
    print(f"answers   {len(latencies)} answers, {fan[0]} family notifications: {answers_s:.2f} s "
          f"({len(latencies) / answers_s:,.0f} answers/s, {fan[0] / answers_s:,.0f} notifications/s)")
    print(f"latency   per answer p50 {p(0.5):.1f} ms  p99 {p(0.99):.1f} ms  max {lat[-1] * 1000:.1f} ms  "
          f"mean {statistics.fmean(lat) * 1000:.1f} ms")
    lost_prompts = residents - prompts[1]
    dup_prompts = prompts[0] - prompts[1]
    lost_fan = expected_fan - fan[1]
    dup_fan = fan[0] - fan[1]
    print(f"check     prompts: {prompts[0]} (lost {lost_prompts}, duplicate {dup_prompts}); family: {fan[0]} of "
          f"{expected_fan} expected (lost {lost_fan}, duplicate {dup_fan}); answered {answered}")
    ok = created == residents and lost_prompts == 0 and dup_prompts == 0 and lost_fan == 0 and dup_fan == 0 \
        and answered == residents
    print("result    OK" if ok else "result    FAILED")
    return 0 if ok else 1


def run(args) -> int:
    from sqlalchemy.engine import make_url

    from server.settings import get_settings

    from server.logging import configure_logging

    # Per-row INFO logs would measure the log sink, not the path.
    configure_logging("WARNING", False)
    base = make_url(get_settings().database_url)
    url = base.set(database=args.database).render_as_string(hide_password=False)
    t0 = time.perf_counter()
    _prepare(url, args.residents, args.group_size)
    print(f"prepared {args.database} in {time.perf_counter() - t0:.1f} s")
    return asyncio.run(_run(url, args.residents, args.group_size, args.concurrency))


def register_bench(bsub) -> None:
    p = bsub.add_parser("safety", help="safety check for 100,000 residents in 25,000 family groups")
    p.add_argument("--residents", type=int, default=100_000)
    p.add_argument("--group-size", type=int, default=4)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--database", default=BENCH_DB, help="scratch database (dropped and rebuilt)")
    p.set_defaults(func=run)
