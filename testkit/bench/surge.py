"""``bousai bench surge``: residents open the app while the alert's fan-out is still running.

Method. The burst bench's set-up (N residents, two ``bousai worker`` processes, the local
FCM server in its own process, areas and the prefecture's shelters loaded, the residents in
family groups of four) plus ``bousai api`` (uvicorn, ``--api-workers``, 2 by default). A
prefecture-wide 大雨警報 (every resident) is stored and relayed:

* **alone**: its fan-out, nothing else; receipt → last push accepted;
* **surge**: the same, while closed-loop clients (``testkit.bench.loadgen``, HTTP/1.1 keep-alive)
  ask what a resident's app asks when it opens: ``GET /v1/me/alerts`` (each client a
  resident of its own), ``GET /v1/alerts/{id}``, ``GET /v1/shelters?lat=&lon=&open=true``
  and ``GET /v1/groups/{id}/statuses`` (the family's safety), for as long as the fan-out
  took alone (×1.2); and the same clients with no fan-out running, as the routes' own
  baseline.

The api processes and the load generator run at ``--api-nice`` (10): on this 2-core machine
they share the CPU with the fan-out, and the fan-out of a warning must not queue behind app
opens (in production they are separate hosts and this is moot). ``--api-nice 0`` measures
them on equal terms.

Prints req/s, p50/p99 and errors per route, and the fan-out's last push with and without
the surge. A warm-up fan-out runs first (not reported).
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import orjson

from testkit.bench.burst import _figures, _reset, _store, _wait_done, rain_alert
from testkit.bench.e2e import PROJECT, Workers, bench_database_url, seed, wait_for_workers, worker_env
from server.settings import Settings, get_settings
from testkit.bench import cpu
from testkit.bench.loadgen import run_load, start_api
from testkit.standins.serving import free_port

TARGET_RPS, TARGET_P99_MS, TARGET_RATIO = 2000, 200, 1.25


def _makers(residents: int, alert_id: int, prefix: str) -> dict:
    rnd = random.Random(13)

    def pull(i: int) -> bytes:
        rid = (i * 7919) % residents + 1
        return (f"GET /v1/me/alerts HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {prefix}{rid}\r\n\r\n").encode()

    detail = f"GET /v1/alerts/{alert_id} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
    points = [(round(rnd.uniform(36.9, 37.9), 4), round(rnd.uniform(139.4, 140.95), 4)) for _ in range(4096)]

    def shelters(i: int) -> bytes:
        lat, lon = points[i % len(points)]
        return f"GET /v1/shelters?lat={lat}&lon={lon}&open=true&limit=10 HTTP/1.1\r\nHost: bench\r\n\r\n".encode()

    def family(i: int) -> bytes:
        rid = (i * 7919) % (residents // GROUP_SIZE * GROUP_SIZE) + 1
        group = (rid - 1) // GROUP_SIZE + 1
        return (f"GET /v1/groups/{group}/statuses HTTP/1.1\r\nHost: bench\r\n"
                f"Authorization: Bearer {prefix}{rid}\r\n\r\n").encode()

    return {"GET /v1/me/alerts": pull, "GET /v1/alerts/{id}": lambda i: detail, "GET /v1/shelters": shelters,
            "GET /v1/groups/{id}/statuses": family}


GROUP_SIZE = 4
# Clients per route: what an app asks when it opens (its list first).
SHARE = {"GET /v1/me/alerts": 0.4, "GET /v1/alerts/{id}": 0.2, "GET /v1/shelters": 0.2,
         "GET /v1/groups/{id}/statuses": 0.2}


async def _open_shelters(sessionmaker) -> int:
    """A 大雨警報: the designated evacuation centres (指定避難所) are open, some filling."""
    from sqlalchemy import text

    async with sessionmaker() as s, s.begin():
        n = (await s.execute(text(
            "UPDATE shelters SET is_open = true, opened_at = now(), "
            "occupancy = CASE WHEN capacity > 0 THEN (hashtext(id) & 1023) % (capacity + 1) END "
            "WHERE is_evacuation_center"))).rowcount
    return n or 0


async def _seed_families(sessionmaker, residents: int) -> int:
    """Every resident in a family group of four; every other one has posted a status."""
    from sqlalchemy import text

    groups = residents // GROUP_SIZE
    async with sessionmaker() as s, s.begin():
        await s.execute(text("INSERT INTO family_groups (name, owner_id, max_members) "
                             "SELECT 'g' || g, (g - 1) * :s + 1, 20 FROM generate_series(1, :groups) g"),
                        {"s": GROUP_SIZE, "groups": groups})
        await s.execute(text(
            """INSERT INTO family_members (group_id, resident_id, display_name, role)
               SELECT (id - 1) / :s + 1, id, 'm' || id, CASE WHEN (id - 1) % :s = 0 THEN 'owner' ELSE 'member' END
               FROM residents WHERE (id - 1) / :s + 1 <= :groups"""), {"s": GROUP_SIZE, "groups": groups})
        await s.execute(text("INSERT INTO safety_statuses (resident_id, status, version) "
                             "SELECT id, 'safe', 1 FROM residents WHERE id % 2 = 0"))
        for table in ("family_groups", "family_members", "safety_statuses"):
            await s.execute(text(f"ANALYZE {table}"))
    return groups


async def _fan_out_phase(sessionmaker, redis, fcm, *, load=None, api_pid: int | None = None) -> dict:
    from testkit.bench.burst import _quiet

    await _reset(sessionmaker)
    await _quiet(fcm)
    before = fcm.stats()
    tag = uuid.uuid4().hex[:8]
    trees = {"api": api_pid} if api_pid else {}
    cpu0, window0 = cpu.snapshot(**trees), time.monotonic()
    (aid,) = await _store(sessionmaker, redis, [rain_alert(tag)])
    routes = None
    if load is not None:
        routes = await load(aid)
    await _wait_done(sessionmaker, [aid])
    cpu1, window = cpu.snapshot(**trees), time.monotonic() - window0
    (r,) = await _figures(sessionmaker, [aid])
    await _quiet(fcm)
    after = fcm.stats()
    out = {
        "alert_id": aid, "pushes": r.pushes, "ok": r.ok, "lost": r.pushes - r.ok,
        "duplicates": after["duplicates"] - before["duplicates"],
        "first_s": round((r.first_at - r.received_at).total_seconds(), 3) if r.first_at else None,
        "last_s": round((r.last_at - r.received_at).total_seconds(), 3) if r.last_at else None,
    }
    if routes is not None:
        out["routes"] = routes
    # Where the CPU went from the alert's storing until both its last push and the clients
    # were done ("wall": that window; the stand-in's own CPU comes from its counter).
    out["cpu_s"] = {**cpu.spent(cpu0, cpu1), "fcm": round(after.get("cpu_seconds", 0.0) - before.get("cpu_seconds", 0.0), 2),
                    "wall": round(window, 2)}
    return out


async def run_surge(
    settings: Settings, *, residents: int, clients: int, database_url: str, redis_url: str, api_workers: int = 2,
    api_nice: int = 10,
) -> dict:
    from geo.areas.loader import load_areas_sync
    from geo.shelters.loader import load_shelters_sync
    from server.db import make_engine, make_sessionmaker
    from server.dbsetup import create_database, upgrade
    from testkit.standins.fcm_server import FcmProcess
    from server import readcache
    from server.redis import make_redis

    # This process stores the alerts: the api's read caches must hear of it in the bench's Redis.
    readcache.configure(redis_url)
    create_database(database_url, drop=True)
    await asyncio.to_thread(upgrade, database_url)
    await asyncio.to_thread(load_areas_sync, database_url, quiet=True)
    shelters = await asyncio.to_thread(load_shelters_sync, database_url, True)
    engine = make_engine(settings, url=database_url, pool_size=4, max_overflow=2)
    sessionmaker = make_sessionmaker(engine)
    redis = make_redis(settings, url=redis_url)
    await redis.flushdb()
    prefix = "surge"
    devices = await seed(sessionmaker, residents, token_prefix=prefix)
    groups = await _seed_families(sessionmaker, residents)
    opened = await _open_shelters(sessionmaker)
    tmp = Path(tempfile.mkdtemp(prefix="bousai-bench-surge-"))
    fcm = FcmProcess(tmp, PROJECT)
    env = worker_env(fcm, database_url, redis_url, BOUSAI_WORKER_STREAMS="alerts:new,push:jobs")
    procs = Workers(env)
    port = free_port()
    # Each client is a resident of its own asking far more often than a phone does: the
    # per-device limit (120/min) would answer 429, so the bench lifts it.
    api_env = {**env, "BOUSAI_RESIDENT_REQUESTS_PER_MINUTE": "1000000", "BOUSAI_DB_POOL_SIZE": "16"}
    api = start_api(api_env, port, workers=api_workers, nice=api_nice)
    run = uuid.uuid4().hex[:6]
    report: dict = {"bench": "surge", "residents": residents, "devices": devices, "shelters": shelters, "clients": clients,
                    "groups": groups, "open_shelters": opened, "workers": 2, "api_workers": api_workers, "api_nice": api_nice}
    try:
        names = [f"surge-{run}-w{k}" for k in (1, 2)]
        for n in names:
            procs.start(n)
        await wait_for_workers(redis, names)
        if api_nice:
            os.nice(api_nice)  # the load generator too (the workers and the FCM stand-in started before)
        seconds = 3.0

        async def load(aid: int) -> dict:
            makers = _makers(residents, aid, prefix)
            results = await asyncio.gather(*(
                run_load("127.0.0.1", port, makers[k], concurrency=max(1, int(clients * SHARE[k])), seconds=seconds)
                for k in makers
            ))
            return dict(zip(makers, results, strict=True))

        # Warm-up (not reported): the api's and the workers' first requests pay for connections and caches.
        warm = await _fan_out_phase(sessionmaker, redis, fcm, load=load, api_pid=api.pid)
        print(f"  warm-up: last push {warm['last_s']} s", flush=True)
        report["alone"] = await _fan_out_phase(sessionmaker, redis, fcm, api_pid=api.pid)
        print(f"  alone: {orjson.dumps(report['alone']).decode()}", flush=True)
        seconds = max(5.0, (report["alone"]["last_s"] or 10.0) * 1.2)
        report["surge"] = await _fan_out_phase(sessionmaker, redis, fcm, load=load, api_pid=api.pid)
        print(f"  surge: {orjson.dumps(report['surge']).decode()}", flush=True)
        # The routes' own baseline: the same clients with no fan-out running (the alert is stored).
        report["routes_without_fan_out"] = await load(report["surge"]["alert_id"])
    finally:
        api.terminate()
        try:
            api.wait(15)
        except subprocess.TimeoutExpired:
            api.kill()
        procs.stop()
        fcm.stop()
        await redis.flushdb()
        await redis.aclose()
        await engine.dispose()
    routes = report["surge"]["routes"]
    report["req_per_s"] = round(sum(r["req_per_s"] for r in routes.values()), 1)
    report["errors"] = sum(n for r in routes.values() for s, n in r.get("statuses", {}).items() if int(s) >= 400)
    report["p99_ms_max"] = max(r["p99_ms"] for r in routes.values())
    report["fan_out_alone_last_s"] = report["alone"]["last_s"]
    report["fan_out_surge_last_s"] = report["surge"]["last_s"]
    report["load_average"] = round(os.getloadavg()[0], 2)
    return report


def _print(r: dict) -> None:
    print(f"surge: {r['residents']} residents, {r['shelters']} shelters ({r['open_shelters']} open), {r['groups']} families, {r['clients']} clients, "
          f"{r['api_workers']} api (nice {r['api_nice']}) + 2 workers, local FCM")
    for route, s in r["surge"]["routes"].items():
        print(f"  {route:30} {s['req_per_s']:>8} req/s  p50 {s['p50_ms']} ms  p99 {s['p99_ms']} ms  statuses {s.get('statuses')}")
    base = r["routes_without_fan_out"]
    print(f"  baseline, no fan-out running: {round(sum(x['req_per_s'] for x in base.values()), 1)} req/s, worst p99 "
          f"{max(x['p99_ms'] for x in base.values())} ms")
    for phase in ("alone", "surge"):
        c = r[phase].get("cpu_s")
        if c and c.get("wall"):
            print(f"  CPU, {phase}: machine {c['machine']} s of {round(c['wall'] * (os.cpu_count() or 1), 1)} available; api {c.get('api')}, "
                  f"PostgreSQL {c['postgres']}, Redis {c['redis-server']}, FCM stand-in {c['fcm']}")
    a, b = r["fan_out_alone_last_s"], r["fan_out_surge_last_s"]
    print(f"  all routes: {r['req_per_s']} req/s, worst p99 {r['p99_ms_max']} ms, errors {r['errors']} "
          f"(target ≥ {TARGET_RPS} req/s, p99 ≤ {TARGET_P99_MS} ms, 0 errors)")
    print(f"  fan-out last push: alone {a} s, during the surge {b} s ({round(b / a, 2) if a and b else None}× alone; "
          f"target ≤ {TARGET_RATIO}×); lost {r['surge']['lost'] + r['alone']['lost']}, duplicates "
          f"{r['surge']['duplicates'] + r['alone']['duplicates']}; load average {r['load_average']} on {os.cpu_count()} CPUs")
    print(orjson.dumps(r).decode())


def cmd(args) -> int:
    settings = get_settings()
    database_url = args.database_url or bench_database_url(settings).replace("bousai_bench_e2e", "bousai_bench_surge")
    redis_url = args.redis_url or f"{settings.redis_url.rsplit('/', 1)[0]}/13"
    report = asyncio.run(run_surge(settings, residents=args.residents, clients=args.clients, database_url=database_url,
                                   redis_url=redis_url, api_workers=args.api_workers, api_nice=args.api_nice))
    _print(report)
    return 0


def register_bench(bsub) -> None:
    p = bsub.add_parser("surge", help="app opens (pull, alert detail, shelters) while the alert's fan-out runs, vs the fan-out alone")
    p.add_argument("--residents", type=int, default=100_000)
    p.add_argument("--clients", type=int, default=64, help="closed-loop keep-alive connections over the three routes")
    p.add_argument("--api-workers", type=int, default=2, help="uvicorn workers of the api (default 2: one per core)")
    p.add_argument("--api-nice", type=int, default=10,
                   help="niceness of the api and the load generator (the fan-out keeps its priority); 0: equal terms")
    p.add_argument("--database-url", help="default: the bousai_bench_surge database next to BOUSAI_DATABASE_URL (dropped and rebuilt)")
    p.add_argument("--redis-url", help="default: Redis db 13 of BOUSAI_REDIS_URL (flushed)")
    p.set_defaults(func=cmd)
