"""``bousai bench e2e --source realtime``: a message leaves the DMDATA stand-in → first and last push accepted.

Method: ``bousai bench e2e``'s (``testkit/bench/e2e.py``: N seeded residents, ``bousai
worker`` processes, the real FCM provider against the local FCM HTTP v1 server in its own
process), with the document arriving over the real-time socket instead of the Atom feed:
the DMDATA stand-in and the real ``RealtimeSource`` run in this process; the clock starts
when the stand-in sends the frame. Baseline, same run and same workers: the PULL path as
``bench e2e`` measures it (poller in a tight loop, clock from the entry appearing on the
feed — PULL at its very best, no poll interval, no JMA feed delay).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from sqlalchemy import text

from testkit.bench.e2e import (
    _PROGRESS,
    PROJECT,
    Workers,
    bench_database,
    bench_database_url,
    bench_redis_url,
    measure_once,
    push_figures,
    quake_document,
    wait_for_workers,
    worker_env,
)
from alerts.feeds.realtime import RealtimeSource
from alerts.feeds.realtime_server import RealtimeServer
from alerts.feeds.realtime_settings import RealtimeSettings
from server.settings import Settings, get_settings

# Issue 19: first push ≤ 500 ms after the message left the server, for 100,000 residents.
TARGET_FIRST_S, TARGET_RESIDENTS = 0.5, 100_000


async def _quiet(fcm) -> dict:
    """Until the FCM stand-in has accepted nothing for a second (earlier safety checks)."""
    before, since = fcm.stats(), time.monotonic()
    while time.monotonic() - since < 1.0:
        await asyncio.sleep(0.2)
        now = fcm.stats()
        if now["accepted_total"] != before["accepted_total"]:
            before, since = now, time.monotonic()
    return before


async def measure_realtime_once(rt_server: RealtimeServer, settings: Settings, sessionmaker, redis, fcm,
                                expected: int, i: int, run: str) -> dict:
    fcm_before = await _quiet(fcm)
    async with sessionmaker() as s:
        base = (await s.execute(text("SELECT coalesce(max(id), 0) FROM push_messages"))).scalar_one()
    realtime = RealtimeSettings(api_key=rt_server.api_key, url=rt_server.socket_url, connections=1)
    source = RealtimeSource(settings, realtime, sessionmaker, redis, instance=f"e2e-{run}")
    stop = asyncio.Event()
    runner = asyncio.create_task(source.run(stop))
    progress = None
    try:
        await rt_server.wait_connections(1)
        mid = await rt_server.publish(quake_document(i, run))
        # Wall-clock moment the frame left (push times are the sender's wall clock).
        t0 = time.time() - (time.monotonic() - rt_server.sent_at[mid])
        deadline = t0 + 3600
        while time.time() < deadline:
            if runner.done():
                raise RuntimeError("the realtime source stopped before the message was stored")
            accepted = fcm.stats()["accepted_total"] - fcm_before["accepted_total"]
            if accepted >= expected:
                async with sessionmaker() as s:
                    progress = (await s.execute(_PROGRESS, {"base": base})).one()
                if progress.ok >= expected:
                    break
            await asyncio.sleep(0.05 if not accepted else 0.25)
    finally:
        stop.set()
        await runner
        await source.aclose()
    return push_figures(progress, t0, expected, fcm, fcm_before)


async def run_realtime_e2e(settings: Settings, *, residents: int, workers: int, database_url: str, redis_url: str,
                           baseline: bool) -> dict:
    from alerts.feeds.server import FeedServer
    from testkit.standins.fcm_server import FcmProcess

    engine, sessionmaker, redis, devices, seed_s = await bench_database(
        settings, database_url=database_url, redis_url=redis_url, residents=residents)
    fcm = FcmProcess(Path(tempfile.mkdtemp(prefix="bousai-bench-e2e-rt-")), PROJECT)
    rt_server = await RealtimeServer().start()
    feed_server = await FeedServer().start()
    poll_settings = settings.model_copy(update={"jma_feeds": [feed_server.feed_url("eqvol")], "cap_feeds": [],
                                                "feed_allowed_hosts": []})
    procs = Workers(worker_env(fcm, database_url, redis_url))
    run = uuid.uuid4().hex[:8]
    report: dict = {"bench": "e2e", "source": "realtime", "residents": residents, "devices": devices,
                    "seed_s": round(seed_s, 1), "workers": workers}
    try:
        names = [f"e2e-rt-{run}-w{k + 1}" for k in range(workers)]
        for n in names:
            procs.start(n)
        await wait_for_workers(redis, names)
        report.update(await measure_realtime_once(rt_server, settings, sessionmaker, redis, fcm, devices, 0, run))
        if baseline:
            report["baseline_pull"] = await measure_once(feed_server, poll_settings, sessionmaker, redis, fcm,
                                                         devices, 1, run)
        report["worker_peak_rss_mb"] = procs.peak_rss_mb()
    finally:
        procs.stop()
        await rt_server.stop()
        await feed_server.stop()
        fcm.stop()
        await redis.flushdb()
        await redis.aclose()
        await engine.dispose()
    report["target_first_s"] = TARGET_FIRST_S
    report["meets_target"] = (report.get("first_push_s") is not None and report["first_push_s"] <= TARGET_FIRST_S
                              ) if residents <= TARGET_RESIDENTS else None
    return report


def cmd(args) -> int:
    from server.logging import configure_logging

    settings = get_settings()
    configure_logging("WARNING", settings.log_json)
    report = asyncio.run(run_realtime_e2e(
        settings, residents=args.residents, workers=args.workers,
        database_url=args.database_url or bench_database_url(settings),
        redis_url=args.redis_url or bench_redis_url(settings), baseline=not args.no_baseline))
    print(f"e2e --source realtime: {report['residents']} residents, {report['devices']} devices "
          f"(seeded in {report['seed_s']} s), {report['workers']} workers")
    print(f"  message left the stand-in → first push {report['first_push_s']} s, last {report['last_push_s']} s, "
          f"alert pushes ok {report['alert_pushes_ok']}, duplicates {report['fcm_duplicates']}")
    if "baseline_pull" in report:
        b = report["baseline_pull"]
        print(f"  baseline PULL (entry on the feed, tight poll loop): first push {b['first_push_s']} s, "
              f"last {b['last_push_s']} s, alert pushes ok {b['alert_pushes_ok']}")
    verdict = {True: "met", False: "NOT met", None: f"judged at {TARGET_RESIDENTS:,} residents"}[report["meets_target"]]
    print(f"  target first ≤ {TARGET_FIRST_S} s → {verdict}; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs; worker peak RSS MB {report['worker_peak_rss_mb']}")
    print(orjson.dumps(report).decode())
    return 0
