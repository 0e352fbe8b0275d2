"""``bousai bench burst``: life-critical alerts during a disaster's burst, with lanes and without.

Method. Everything real on loopback, against a database and a Redis db of the bench's own:
N residents (``testkit.bench.e2e.seed``: one Android device and one home place each, a third
each in いわき市 (浜通り, on the coast), 郡山市 and 会津若松市), two ``bousai worker``
processes sending with the real FCM provider to the local FCM server (its own process).
Documents are stored through the real ingest and relayed through the real outbox; the
clock of each alert starts at its receipt (``alerts.received_at``).

* **alone**: a real EEW 警報 (VXSE43, 浜通り) and a 津波警報 (福島県 coast) arrive with
  nothing else in flight: critical pushes to the いわき third, twice.
* **burst**: first a prefecture-wide 大雨警報 (alert lane, every resident) and a knowledge
  push to every resident (bulk lane) are in flight; once a tenth of the warning's pushes
  are accepted, the same EEW 警報 and 津波警報 arrive.
* **fifo** (the baseline): the same burst with ``BOUSAI_LANES_ENABLED=0`` in the workers
  and the relay — the single first-in-first-out lane of before.

Per phase: receipt → first and last push accepted for each critical alert, the other
lanes' completion, and every push accounted for (lost = pushes never accepted; duplicates
= the FCM server's count of a message id accepted twice). Between phases the alert and
push tables are emptied (identities continue, so no alert id is reused).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from sqlalchemy import text

from testkit.bench.e2e import PROJECT, Workers, bench_database, bench_database_url, checkpoint, wait_for_workers, worker_env
from server.settings import Settings, get_settings

WARN_AT_SHARE = 0.10  # the criticals arrive once this share of the warning's pushes is out
CITIES = ("0720400", "0720300", "0720200")  # いわき市, 郡山市, 会津若松市 (e2e_bench.CITIES)
TARGET_RATIO = 1.25


def bench_redis_url(settings: Settings) -> str:
    return f"{settings.redis_url.rsplit('/', 1)[0]}/12"


def _jst(t: datetime) -> str:
    return t.astimezone(UTC).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo")).replace(microsecond=0).isoformat()


def eew_alert(tag: str):
    from alerts.feeds.realtime_server import eew_document
    from alerts.sources import parse_document

    # Report time = origin + 10 s: now, so the EEW is fresh (60 s) when it fans out.
    origin = datetime.now(UTC) - timedelta(seconds=10) + timedelta(milliseconds=int(tag[-3:], 16) % 997)
    doc = eew_document(serial=2, origin=origin, warning=True, areas=[("福島県浜通り", "251", "5+")])
    (alert,) = parse_document(doc, f"burst_{tag}_eew.xml")
    return alert


def tsunami_alert(tag: str) -> dict:
    return {
        "source": "jma", "file": None, "msg_type": "alert", "event_id": f"burst-{tag}-tsunami", "source_id": f"burst-{tag}-tsunami",
        "issued_at": _jst(datetime.now(UTC)), "category": "tsunami", "headline": "津波警報を発表しました。", "severity": "Extreme",
        "expires_at": None, "areas": [{"code": "250", "name": "福島県", "kind": "tsunami_area", "tsunami_grade": "warning"}],
        "geometry": None, "status": "通常", "is_drill": False, "title": "津波警報・注意報・予報a",
    }


def rain_alert(tag: str) -> dict:
    return {
        "source": "jma", "file": None, "msg_type": "alert", "event_id": f"気象警報・注意報|福島地方気象台|burst-{tag}",
        "source_id": f"burst-{tag}-rain", "issued_at": _jst(datetime.now(UTC)), "category": "weather_warning",
        "headline": "福島県に大雨警報", "severity": "Severe", "expires_at": None,
        "areas": [{"code": c, "name": c, "kind": "jma_city", "warnings": [{"name": "大雨警報", "status": "発表"}]} for c in CITIES],
        "geometry": None, "status": "通常", "is_drill": False, "title": "気象警報・注意報",
    }


async def _store(sessionmaker, redis, docs: list[dict]) -> list[int]:
    from alerts.events.outbox import relay_outbox
    from alerts.events.service import ingest

    ids = []
    async with sessionmaker() as s, s.begin():
        for d in docs:
            ids.append((await ingest(s, d)).alert_id)
    await relay_outbox(sessionmaker, redis)
    return ids


async def _bulk(sessionmaker, tag: str) -> None:
    from my_evacuation.push.notifications import NotificationItem, enqueue_notification

    async with sessionmaker() as s, s.begin():
        ids = [r[0] for r in (await s.execute(text("SELECT id FROM residents ORDER BY id"))).all()]
        for i in range(0, len(ids), 20_000):
            await enqueue_notification(
                s, [NotificationItem(r, "防災の知識", "非常持出品を確認しましょう") for r in ids[i:i + 20_000]],
                kind="tip", dedupe_key=f"burst-tip-{tag}",
            )


_ALERT_FIG = text(
    """
    SELECT a.id, a.category, a.received_at, a.fanned_out_at,
           count(pm.id) AS pushes, count(pm.id) FILTER (WHERE pm.status = 'ok') AS ok,
           count(pm.id) FILTER (WHERE pm.status = 'queued') AS queued,
           min(pm.sent_at) AS first_at, max(pm.sent_at) AS last_at
    FROM alerts a LEFT JOIN push_messages pm ON pm.alert_id = a.id
    WHERE a.id = ANY(:ids) GROUP BY a.id ORDER BY a.id
    """
)
_BULK_FIG = text(
    """
    SELECT count(*) AS pushes, count(*) FILTER (WHERE status = 'ok') AS ok,
           count(*) FILTER (WHERE status = 'queued') AS queued, max(sent_at) AS last_at
    FROM push_messages WHERE notification_id IS NOT NULL
    """
)


async def _figures(sessionmaker, ids: list[int]) -> list:
    async with sessionmaker() as s:
        return (await s.execute(_ALERT_FIG, {"ids": ids})).all()


async def _wait_done(sessionmaker, ids: list[int], *, bulk: int = 0, timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = await _figures(sessionmaker, ids)
        done = all(r.fanned_out_at is not None and r.queued == 0 for r in rows) and len(rows) == len(ids)
        if done and bulk:
            async with sessionmaker() as s:
                b = (await s.execute(_BULK_FIG)).one()
            done = b.pushes >= bulk and b.queued == 0
        if done:
            return
        await asyncio.sleep(0.25)
    raise RuntimeError(f"phase not done within {timeout}s")


async def _reset(sessionmaker) -> None:
    from server import readcache

    async with sessionmaker() as s, s.begin():
        readcache.touch(s, "alerts")  # an api reading this database drops what it cached
        await s.execute(text("TRUNCATE push_messages, notifications, deliveries, alert_outbox, alerts, alert_events CASCADE"))
    await checkpoint(sessionmaker)


async def _quiet(fcm) -> None:
    before, since = fcm.stats(), time.monotonic()
    while time.monotonic() - since < 1.0:
        await asyncio.sleep(0.2)
        now = fcm.stats()
        if now["accepted_total"] != before["accepted_total"]:
            before, since = now, time.monotonic()


def _alert_row(r) -> dict:
    return {
        "alert_id": r.id, "category": r.category, "pushes": r.pushes, "ok": r.ok,
        "first_s": round((r.first_at - r.received_at).total_seconds(), 3) if r.first_at else None,
        "last_s": round((r.last_at - r.received_at).total_seconds(), 3) if r.last_at else None,
    }


async def run_phase(name: str, sessionmaker, redis, fcm, *, burst: bool, residents: int) -> dict:
    await _reset(sessionmaker)
    await _quiet(fcm)
    before = fcm.stats()
    tag = uuid.uuid4().hex[:8]
    t0 = time.time()
    others: list[int] = []
    if burst:
        await _bulk(sessionmaker, tag)
        others = await _store(sessionmaker, redis, [rain_alert(tag)])
        while True:  # both in flight: the warning's pushes are going out
            (r,) = await _figures(sessionmaker, others)
            if r.ok >= residents * WARN_AT_SHARE:
                break
            await asyncio.sleep(0.05)
    t_crit = time.time()
    critical = await _store(sessionmaker, redis, [eew_alert(tag), tsunami_alert(tag)])
    await _wait_done(sessionmaker, critical)
    crit_rows = [_alert_row(r) for r in await _figures(sessionmaker, critical)]
    await _wait_done(sessionmaker, critical + others, bulk=residents if burst else 0)
    other_rows = [_alert_row(r) for r in await _figures(sessionmaker, others)]
    async with sessionmaker() as s:
        b = (await s.execute(_BULK_FIG)).one()
        pushes, ok = (await s.execute(text("SELECT count(*), count(*) FILTER (WHERE status = 'ok') FROM push_messages"))).one()
    await _quiet(fcm)
    after = fcm.stats()
    out = {
        "phase": name,
        "critical": crit_rows,
        "critical_last_s": max((r["last_s"] or 0) for r in crit_rows),
        "critical_first_s": min((r["first_s"] or 1e9) for r in crit_rows),
        "critical_arrived_after_s": round(t_crit - t0, 2),
        "pushes": pushes,
        "lost": pushes - ok,
        "duplicates": after["duplicates"] - before["duplicates"],
        "fcm_accepted": after["accepted_total"] - before["accepted_total"],
    }
    if burst:
        out["alert_lane"] = other_rows
        out["bulk_last_s"] = round(b.last_at.timestamp() - t0, 3) if b.last_at else None
        out["alert_lane_last_s_from_burst_start"] = (
            round(max(r["last_s"] or 0 for r in other_rows) + (await _received_offset(sessionmaker, others[0], t0)), 3)
        )
    return out


async def _received_offset(sessionmaker, alert_id: int, t0: float) -> float:
    async with sessionmaker() as s:
        rec = (await s.execute(text("SELECT received_at FROM alerts WHERE id = :a"), {"a": alert_id})).scalar_one()
    return rec.timestamp() - t0


async def run_burst(settings: Settings, *, residents: int, database_url: str, redis_url: str, fifo: bool) -> dict:
    from server import lanes
    from testkit.standins.fcm_server import FcmProcess

    t = time.monotonic()
    engine, sessionmaker, redis, devices, _ = await bench_database(
        settings, database_url=database_url, redis_url=redis_url, residents=residents, token_prefix="burst")
    async with sessionmaker() as s, s.begin():  # いわき市 is on the coast: 津波予報区 福島県 (250)
        await s.execute(text("UPDATE places SET tsunami_area_code = '250' WHERE municipality_code = '072044'"))
    seed_s = time.monotonic() - t
    tmp = Path(tempfile.mkdtemp(prefix="bousai-bench-burst-"))
    fcm = FcmProcess(tmp, PROJECT)
    # No safety checks (alerts:safety): the bench measures the alerts and the bulk it queues itself.
    env = worker_env(fcm, database_url, redis_url, BOUSAI_WORKER_STREAMS="alerts:new,push:jobs")
    procs = Workers(env)
    run = uuid.uuid4().hex[:6]
    report: dict = {"bench": "burst", "residents": residents, "devices": devices, "workers": 2, "seed_s": round(seed_s, 1)}
    try:
        names = [f"burst-{run}-w{k}" for k in (1, 2)]
        for n in names:
            procs.start(n, {"BOUSAI_LANES_ENABLED": "1"})
        await wait_for_workers(redis, names)
        os.environ["BOUSAI_LANES_ENABLED"] = "1"
        lanes.lane_settings.cache_clear()
        # Warm-up (not reported): the first fan-out pays for connections, plans and caches.
        warm = await run_phase("warm-up", sessionmaker, redis, fcm, burst=False, residents=residents)
        print(f"  warm-up: critical last push {warm['critical_last_s']} s", flush=True)
        report["alone"] = await run_phase("alone", sessionmaker, redis, fcm, burst=False, residents=residents)
        print(f"  alone: {orjson.dumps(report['alone']).decode()}", flush=True)
        report["burst"] = await run_phase("burst", sessionmaker, redis, fcm, burst=True, residents=residents)
        print(f"  burst: {orjson.dumps(report['burst']).decode()}", flush=True)
        if fifo:
            procs.stop()
            await redis.flushdb()
            names = [f"burst-{run}-f{k}" for k in (1, 2)]
            for n in names:
                procs.start(n, {"BOUSAI_LANES_ENABLED": "0"})
            await wait_for_workers(redis, names)
            os.environ["BOUSAI_LANES_ENABLED"] = "0"
            lanes.lane_settings.cache_clear()
            report["fifo"] = await run_phase("fifo", sessionmaker, redis, fcm, burst=True, residents=residents)
            print(f"  fifo:  {orjson.dumps(report['fifo']).decode()}", flush=True)
        report["worker_peak_rss_mb"] = procs.peak_rss_mb()
    finally:
        os.environ.pop("BOUSAI_LANES_ENABLED", None)
        lanes.lane_settings.cache_clear()
        procs.stop()
        fcm.stop()
        await redis.flushdb()
        await redis.aclose()
        await engine.dispose()
    report["load_average"] = round(os.getloadavg()[0], 2)
    report["critical_alone_last_s"] = report["alone"]["critical_last_s"]
    report["critical_burst_last_s"] = report["burst"]["critical_last_s"]
    report["fifo_burst_last_s"] = report["fifo"]["critical_last_s"] if "fifo" in report else None
    report["lost"] = sum(report[p]["lost"] for p in ("alone", "burst", "fifo") if p in report)
    report["duplicates"] = sum(report[p]["duplicates"] for p in ("alone", "burst", "fifo") if p in report)
    return report


def _print(r: dict) -> None:
    print(f"burst: {r['residents']} residents, {r['devices']} devices, 2 workers, local FCM (seeded in {r['seed_s']} s)")
    for p in ("alone", "burst", "fifo"):
        if p not in r:
            continue
        ph = r[p]
        crit = ", ".join(f"{c['category']} first {c['first_s']} s last {c['last_s']} s ({c['ok']} pushes)" for c in ph["critical"])
        print(f"  {p:5}: critical (from receipt): {crit}; lost {ph['lost']}, duplicates {ph['duplicates']}")
        if "alert_lane" in ph:
            print(f"         criticals arrived {ph['critical_arrived_after_s']} s into the burst; 大雨警報 last push "
                  f"{ph['alert_lane_last_s_from_burst_start']} s and bulk last push {ph['bulk_last_s']} s from the burst's start")
    a, b, f = r["critical_alone_last_s"], r["critical_burst_last_s"], r["fifo_burst_last_s"]
    ratio = round(b / a, 2) if a else None
    print(f"  critical last push: alone {a} s, under burst {b} s ({ratio}× alone; target ≤ {TARGET_RATIO}×)"
          + (f", FIFO baseline under burst {f} s ({round(f / a, 2) if a else None}× alone)" if f is not None else ""))
    print(f"  lost {r['lost']}, duplicates {r['duplicates']}; load average {r['load_average']} on {os.cpu_count()} CPUs")
    print(orjson.dumps({k: r[k] for k in ("bench", "residents", "critical_alone_last_s", "critical_burst_last_s",
                                         "fifo_burst_last_s", "lost", "duplicates")} | {"report": r}).decode())


def cmd(args) -> int:
    settings = get_settings()
    database_url = args.database_url or bench_database_url(settings).replace("bousai_bench_e2e", "bousai_bench_burst")
    redis_url = args.redis_url or bench_redis_url(settings)
    report = asyncio.run(run_burst(settings, residents=args.residents, database_url=database_url, redis_url=redis_url,
                                   fifo=not args.no_baseline))
    _print(report)
    return 0


def register_bench(bsub) -> None:
    p = bsub.add_parser("burst", help="critical alerts' last push under a disaster's burst vs alone, and the FIFO baseline")
    p.add_argument("--residents", type=int, default=100_000)
    p.add_argument("--no-baseline", action="store_true", help="skip the single-lane FIFO baseline phase")
    p.add_argument("--database-url", help="default: the bousai_bench_burst database next to BOUSAI_DATABASE_URL (dropped and rebuilt)")
    p.add_argument("--redis-url", help="default: Redis db 12 of BOUSAI_REDIS_URL (flushed)")
    p.set_defaults(func=cmd)
