"""``bousai bench push``: our FCM sender against the stock firebase-admin async path.

Both talk to the same local FCM HTTP v1 server (HTTP/2 + TLS, 100 streams per
connection), run in a process of its own so it does not share a GIL with the sender.

1. clean: ours (``--workers`` sender processes, default 2 — the goal is the FCM quota
   with at most two) and stock ``messaging.send_each_async`` (batches of 500, one
   process) in alternating rounds → ``msg_per_s``, ``baseline_msg_per_s``;
2. ours with faults: 2% 429 QUOTA_EXCEEDED, 1% 503 and 1% dead tokens injected →
   ``lost`` and ``duplicates`` (counted by message_id at the server);
3. stock with the same faults → what it loses (it does not retry 429).

The machine is shared with other work: compare the two rates of the same run (and the
load-independent ``cpu_speedup``, client CPU per message), not figures across runs. The
last line printed is a JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

FAULTS = {"quota_fraction": 0.02, "unavailable_fraction": 0.01, "internal_fraction": 0.0, "retry_after": 1}
DEAD_EVERY = 100  # 1% dead tokens
PROJECT = "bousai-bench"


def register_bench(bench_subparsers) -> None:
    p = bench_subparsers.add_parser("push", help="push throughput: our FCM sender vs stock firebase-admin")
    p.add_argument("--messages", type=int, default=20_000, help="messages per phase of ours (default 20000)")
    p.add_argument("--baseline-messages", type=int, default=None, help="messages per stock phase (default min(messages, 5000))")
    p.add_argument("--workers", type=int, default=2, help="sender processes for ours (the goal: ≤ 2 saturate the quota)")
    p.add_argument("--connections", type=int, default=2, help="HTTP/2 connections per worker")
    p.add_argument("--max-streams", type=int, default=100, help="SETTINGS_MAX_CONCURRENT_STREAMS the server announces")
    p.add_argument("--inflight-batches", type=int, default=4, help="batches of 500 in flight per worker")
    p.add_argument("--rounds", type=int, default=4, help="alternating ours/stock rounds for the clean comparison")
    p.add_argument("--skip-baseline", action="store_true")
    p.add_argument(
        "--server-engine", choices=("granian", "h2", "hypercorn"), default="granian",
        help="HTTP/2 server under the local FCM stand-in (default granian: it costs the shared CPU least)",
    )
    p.add_argument("--redis-url", default=None, help="Redis for the shared rate limit (default: settings)")
    p.set_defaults(func=lambda args: run(args))


# --- workers -------------------------------------------------------------------------------


def _messages(phase: str, start: int, stop: int, *, faults: bool):
    from my_evacuation.push.providers.base import PushMessage

    out = []
    for i in range(start, stop):
        token = f"dead-{phase}-{i}" if faults and i % DEAD_EVERY == 0 else f"tok-{phase}-{i}"
        out.append(
            PushMessage(
                message_id=f"{phase}-{i}",
                device_id=str(i),
                token=token,
                title="避難指示 (警戒レベル4)",
                body="福島市: 今すぐ避難してください。避難先: 福島第一小学校",
                data={"alert_id": "bench", "level": "4"},
                critical=i % 2 == 0,
                collapse_key="bench",
            )
        )
    return out


async def _ours_worker(cfg: dict, start: int, stop: int, ready, go, out_q) -> None:
    import redis.asyncio as aioredis
    from firebase_admin import credentials

    from my_evacuation.push.providers.fcm import FcmProvider
    from my_evacuation.push.providers.ratelimit import RedisTokenBucket
    from my_evacuation.push.providers.retry import send_with_retries

    msgs = _messages(cfg["phase"], start, stop, faults=cfg["faults"])
    provider = FcmProvider(
        credentials.Certificate(cfg["sa_file"]),
        PROJECT,
        endpoint=cfg["base_url"],
        ca_file=cfg["ca_file"],
        connections=cfg["connections"],
    )
    redis = aioredis.from_url(cfg["redis_url"]) if cfg["redis_url"] else None
    limiter = None
    if redis is not None:
        try:
            await redis.ping()
            limiter = RedisTokenBucket(redis, cfg["limiter_key"], rate_per_minute=600_000)
        except OSError:
            redis = None
    # Warm up: token, connections (not timed).
    await provider._tokens.token()
    await provider._pool.connect()
    ready.set()
    while not go.is_set():
        await asyncio.sleep(0.005)
    cpu0 = time.process_time()
    sem = asyncio.Semaphore(cfg["inflight"])
    reported: dict[str, str] = {}

    async def one(batch):
        async with sem:
            outcome = await send_with_retries(provider, batch, limiter=limiter, redis=redis, base_delay=0.2, max_delay=5.0)
            for r in outcome.results:
                if r.status.value != "ok":
                    reported[r.message_id] = f"{r.status.value}:{r.error_code}"
            return outcome.resent

    resent = await asyncio.gather(*(one(msgs[i : i + 500]) for i in range(0, len(msgs), 500)))
    end = time.time()
    out_q.put({"end": end, "reported": reported, "resent": sum(resent), "cpu": time.process_time() - cpu0})
    await provider.aclose()
    if redis is not None:
        await redis.aclose()


def _ours_worker_main(cfg, start, stop, ready, go, out_q):
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_ours_worker(cfg, start, stop, ready, go, out_q))


def run_ours(cfg: dict, n: int, workers: int) -> dict:
    ctx = mp.get_context("spawn")
    go = ctx.Event()
    out_q = ctx.Queue()
    procs, readies = [], []
    step = -(-n // workers)
    for w in range(workers):
        ready = ctx.Event()
        p = ctx.Process(target=_ours_worker_main, args=(cfg, w * step, min(n, (w + 1) * step), ready, go, out_q))
        p.start()
        procs.append(p)
        readies.append(ready)
    for r in readies:
        if not r.wait(60):
            raise RuntimeError("bench worker did not start")
    t0 = time.time()
    go.set()
    outs = [out_q.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(30)
    reported: dict[str, str] = {}
    for o in outs:
        reported.update(o["reported"])
    return {
        "seconds": max(o["end"] for o in outs) - t0,
        "reported": reported,
        "resent": sum(o["resent"] for o in outs),
        "cpu_seconds": sum(o["cpu"] for o in outs),
    }


# --- stock firebase-admin --------------------------------------------------------------------


async def _stock(cfg: dict, n: int) -> dict:
    import firebase_admin
    import google.auth.transport.requests as google_requests
    import requests
    from firebase_admin import credentials, messaging

    from my_evacuation.push.providers.fcm import fcm_send_url, to_fcm_message

    # httpx's own supported way to trust a CA file; this process only runs the stock path.
    os.environ["SSL_CERT_FILE"] = cfg["ca_file"]
    cred = credentials.Certificate(cfg["sa_file"])
    app = firebase_admin.initialize_app(cred, name=f"bench-{uuid.uuid4().hex[:8]}")
    session = requests.Session()
    session.trust_env = False
    session.verify = cfg["ca_file"]
    cred.get_credential().refresh(google_requests.Request(session=session))  # valid for an hour
    service = messaging._get_messaging_service(app)
    # firebase-admin builds its send URL once from _MessagingService.FCM_URL; point it here.
    service._fcm_url = fcm_send_url(PROJECT, cfg["base_url"])
    msgs = [to_fcm_message(m) for m in _messages(cfg["phase"], 0, n, faults=cfg["faults"])]
    failures: dict[str, str] = {}
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for i in range(0, n, 500):
        chunk = msgs[i : i + 500]
        try:
            resp = await messaging.send_each_async(chunk, app=app)
        except Exception as exc:  # noqa: BLE001 - the baseline's own failures are what we count
            for m in chunk:
                failures[m.data["message_id"]] = f"raised:{type(exc).__name__}"
            continue
        for m, r in zip(chunk, resp.responses, strict=True):
            if not r.success:
                failures[m.data["message_id"]] = type(r.exception).__name__
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "failures": failures, "cpu_seconds": time.process_time() - cpu0}


def _stock_main(cfg, n, out_q):
    out_q.put(asyncio.run(_stock(cfg, n)))


def run_stock(cfg: dict, n: int) -> dict:
    ctx = mp.get_context("spawn")
    out_q = ctx.Queue()
    p = ctx.Process(target=_stock_main, args=(cfg, n, out_q))
    p.start()
    out = out_q.get(timeout=1800)
    p.join(30)
    return out


# --- orchestration --------------------------------------------------------------------------


def _tally(n: int, phase: str, accepted: dict[str, int], reported: dict[str, str]) -> dict:
    ids = [f"{phase}-{i}" for i in range(n)]
    ok = sum(1 for m in ids if accepted.get(m, 0) >= 1)
    duplicates = sum(accepted.get(m, 0) - 1 for m in ids if accepted.get(m, 0) > 1)
    dead = sum(1 for m in ids if reported.get(m, "").startswith("dead_token"))
    permanent = sum(1 for m in ids if reported.get(m, "").startswith("permanent"))
    # Lost: neither accepted by the server nor reported to the caller as dead/permanent.
    lost = sum(
        1 for m in ids if accepted.get(m, 0) == 0 and not reported.get(m, "").startswith(("dead_token", "permanent"))
    )
    return {"accepted": ok, "duplicates": duplicates, "dead": dead, "permanent": permanent, "lost": lost}


def run(args) -> int:
    from testkit.standins.fcm_server import FcmProcess
    from server.settings import get_settings

    n = args.messages
    nb = args.baseline_messages or min(n, 5000)
    tmp = Path(tempfile.mkdtemp(prefix="bousai-bench-push-"))
    server = FcmProcess(tmp, PROJECT, ["--max-streams", str(args.max_streams), "--engine", args.server_engine])
    try:
        base_cfg = {
            "sa_file": server.sa_file,
            "ca_file": server.ca_file,
            "base_url": server.base_url,
            "connections": args.connections,
            "inflight": args.inflight_batches,
            "redis_url": args.redis_url or get_settings().redis_url,
            "limiter_key": f"fcm-bench-{uuid.uuid4().hex[:8]}",
        }
        report: dict = {"messages": n, "workers": args.workers, "max_streams": args.max_streams}

        # 1 + 3. clean: ours and stock in alternating rounds, so a change in the load other
        # processes put on this shared machine hits both sides alike.
        rounds = max(1, args.rounds)
        ours_s = ours_cpu = server_cpu = 0.0
        server_requests = 0
        peak = 0
        clean = {"lost": 0, "duplicates": 0}
        stock_s = stock_cpu = 0.0
        stock_failures = 0
        stock_accepted = 0
        for r in range(rounds):
            k = n // rounds + (1 if r < n % rounds else 0)
            server.reset()
            ours = run_ours({**base_cfg, "phase": f"clean{r}", "faults": False}, k, args.workers)
            stats = server.stats(ids=True)
            t = _tally(k, f"clean{r}", stats["accepted"], ours["reported"])
            clean["lost"] += t["lost"]
            clean["duplicates"] += t["duplicates"]
            ours_s += ours["seconds"]
            ours_cpu += ours["cpu_seconds"]
            server_cpu += stats.get("cpu_seconds", 0.0)
            server_requests += stats["requests"]
            peak = max(peak, stats["peak_streams_per_connection"])
            print(f"ours   clean  round {r + 1}/{rounds}: {k} msgs in {ours['seconds']:.2f}s = {k / ours['seconds']:.0f} msg/s  {t}", flush=True)
            if not args.skip_baseline:
                kb = nb // rounds + (1 if r < nb % rounds else 0)
                server.reset()
                stock = run_stock({**base_cfg, "phase": f"stock{r}", "faults": False}, kb)
                stats = server.stats(ids=True)
                st = _tally(kb, f"stock{r}", stats["accepted"], {})
                stock_s += stock["seconds"]
                stock_cpu += stock["cpu_seconds"]
                stock_failures += len(stock["failures"])
                stock_accepted += st["accepted"]
                print(
                    f"stock  clean  round {r + 1}/{rounds}: {kb} msgs in {stock['seconds']:.2f}s = {kb / stock['seconds']:.0f} msg/s  "
                    f"failures={len(stock['failures'])}",
                    flush=True,
                )
        report.update(
            seconds=round(ours_s, 3),
            msg_per_s=round(n / ours_s, 1),
            client_cpu_ms_per_msg=round(1000 * ours_cpu / n, 3),
            server_cpu_ms_per_msg=round(1000 * server_cpu / max(1, server_requests), 3),
            peak_streams_per_connection=peak,
        )
        if not args.skip_baseline:
            report.update(
                baseline_messages=nb,
                baseline_seconds=round(stock_s, 3),
                baseline_msg_per_s=round(nb / stock_s, 1),
                baseline_client_cpu_ms_per_msg=round(1000 * stock_cpu / nb, 3),
                baseline_failures=stock_failures,
                baseline_not_delivered=nb - stock_accepted,
            )

        # 2. ours, faults
        server.reset(FAULTS)
        cfg = {**base_cfg, "phase": "faults", "faults": True}
        ours_f = run_ours(cfg, n, args.workers)
        stats = server.stats(ids=True)
        faulty = _tally(n, "faults", stats["accepted"], ours_f["reported"])
        report.update(
            faults_seconds=round(ours_f["seconds"], 3),
            faults_msg_per_s=round(n / ours_f["seconds"], 1),
            injected=stats["errors"],
            resent=ours_f["resent"],
            dead_tokens_reported=faulty["dead"],
            permanent=faulty["permanent"],
            lost=clean["lost"] + faulty["lost"],
            duplicates=clean["duplicates"] + faulty["duplicates"],
        )
        print(
            f"ours   faults: {n} msgs in {ours_f['seconds']:.2f}s = {n / ours_f['seconds']:.0f} msg/s  {faulty}"
            f"  injected={stats['errors']} resent={ours_f['resent']}",
            flush=True,
        )

        if not args.skip_baseline:
            # 4. stock, faults
            server.reset(FAULTS)
            cfg = {**base_cfg, "phase": "stockf", "faults": True}
            stock_f = run_stock(cfg, nb)
            stats = server.stats(ids=True)
            kinds: dict[str, int] = {}
            for v in stock_f["failures"].values():
                kinds[v] = kinds.get(v, 0) + 1
            s_f = _tally(nb, "stockf", stats["accepted"], {})
            report.update(
                baseline_faults_msg_per_s=round(nb / stock_f["seconds"], 1),
                baseline_faults_failures=kinds,
                baseline_faults_not_delivered=nb - s_f["accepted"],
                baseline_faults_duplicates=s_f["duplicates"],
            )
            print(
                f"stock  faults: {nb} msgs in {stock_f['seconds']:.2f}s = {nb / stock_f['seconds']:.0f} msg/s  "
                f"failures={kinds} not delivered={nb - s_f['accepted']}",
                flush=True,
            )
            report["speedup"] = round(report["msg_per_s"] / report["baseline_msg_per_s"], 1)
            # Load-independent: client CPU spent per message, stock / ours.
            report["cpu_speedup"] = round(report["baseline_client_cpu_ms_per_msg"] / report["client_cpu_ms_per_msg"], 1)
    finally:
        server.stop()
    ok = report["lost"] == 0 and report["duplicates"] == 0
    print(json.dumps(report, ensure_ascii=False))
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bousai bench")
    sub = parser.add_subparsers(dest="bench", required=True)
    register_bench(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
