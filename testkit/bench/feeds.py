"""``bousai bench ingest``: feed entry → alert committed and on the ``alerts:new`` stream.

Method. A local feed server (loopback, real HTTP) and the real poller (conditional GETs,
fetch-once, parse, ingest, outbox, relay) run in one process against a benchmark
database and Redis db of their own (never the live ones: the alerts are drills, but a
worker must still not see them). The poller runs in a tight loop with no sleep, so the
poll interval is not measured. N new entries are published one at a time (the next only
after the previous is on the stream) and, per entry, two times are taken:

* ``ingest``: from the moment the poller's feed GET returned the new entry to the alert
  committed and XADDed (what the poller adds on top of the feed's own delay);
* ``publish``: from the entry appearing on the server to the same point (also includes
  the rest of the in-flight conditional-GET cycle).

Baseline, same run: the naive poller — unconditional GET of the feed, every listed
document downloaded and parsed again, ingest of each (idempotent), every cycle — over
the same kind of entries. Parse throughput uses ``alerts.sources.cli.parse_throughput``
over ../shared/reference/jmaxml when present, else the scenario documents.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
from sqlalchemy.engine import make_url

from alerts.events.outbox import ALERTS_STREAM, relay_outbox
from alerts.events.service import ingest
from alerts.feeds.atom import parse_feed
from alerts.feeds.poller import FeedPoller
from alerts.feeds.replay import RenderContext, render_document, render_scenario, resolve_scenario
from alerts.feeds.server import FeedServer
from alerts.sources import parse_document
from server.db import make_engine, make_sessionmaker, unit_of_work
from server.redis import make_redis
from server.settings import PROJECT_ROOT, Settings, get_settings

SCENARIO = "fukushima_quake_then_rain"
TEMPLATE = "02_VXSE53.xml"  # a realistic mid-sized document (震源・震度情報, 6 cities)
TARGET_P50_MS, TARGET_P99_MS = 300.0, 1000.0


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[idx]


def _doc(i: int, run: str) -> bytes:
    template = (resolve_scenario(SCENARIO) / TEMPLATE).read_bytes()
    # A distinct EventID (origin time) per entry, and flagged as a drill (訓練).
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i)
    data = render_document(template, RenderContext(start=start, now=start + timedelta(seconds=90), run=run))
    return data.replace("<Status>通常</Status>".encode(), "<Status>訓練</Status>".encode())


async def _measure_poller(server: FeedServer, settings: Settings, sessionmaker, redis, n: int, offset: int, run: str):
    seen: dict[str, float] = {}
    stored: dict[str, float] = {}
    done: dict[str, asyncio.Event] = {}

    def observe(event, entry_id, at, detail):
        if event == "feed_seen":
            seen.setdefault(entry_id, detail.get("at", at))
        elif event == "stored":
            stored[entry_id] = detail.get("stored_at", at)
            if entry_id in done:
                done[entry_id].set()

    poller = FeedPoller(settings, sessionmaker, redis, observer=observe)
    stop = asyncio.Event()

    async def loop():
        while not stop.is_set():
            await poller.poll_once()

    runner = asyncio.create_task(loop())
    ingest_ms, publish_ms = [], []
    try:
        for i in range(n):
            name = f"bench_{run}_{offset + i:05d}.xml"
            entry_id = f"{server.base_url}/data/{name}"
            done[entry_id] = asyncio.Event()
            t_pub = time.monotonic()
            server.store.publish("eqvol", name, _doc(offset + i, run))
            await asyncio.wait_for(done[entry_id].wait(), timeout=30)
            ingest_ms.append((stored[entry_id] - seen[entry_id]) * 1000)
            publish_ms.append((stored[entry_id] - t_pub) * 1000)
    finally:
        stop.set()
        await runner
        await poller.aclose()
    return ingest_ms, publish_ms


async def _measure_naive(server: FeedServer, sessionmaker, redis, n: int, offset: int, run: str) -> list[float]:
    """Unconditional GET + download and parse of every listed document, each cycle."""
    feed_url = server.feed_url("eqvol")
    latencies = []
    async with httpx.AsyncClient(timeout=10) as client:
        for i in range(n):
            name = f"bench_{run}_{offset + i:05d}.xml"
            entry_id = f"{server.base_url}/data/{name}"
            t_pub = time.monotonic()
            server.store.publish("eqvol", name, _doc(offset + i, run))
            found = False
            while not found:
                resp = await client.get(feed_url)
                for item in parse_feed(resp.content, max_bytes=10 * 1024 * 1024):
                    data = (await client.get(item.link)).content
                    async with unit_of_work(sessionmaker) as s:
                        for alert in parse_document(data, file=item.link):
                            await ingest(s, alert)
                    found = found or item.entry_id == entry_id
                await relay_outbox(sessionmaker, redis)
            latencies.append((time.monotonic() - t_pub) * 1000)
    return latencies


def _parse_corpus() -> tuple[str, list[str]]:
    ref = PROJECT_ROOT.parent / "shared" / "reference" / "jmaxml"
    if ref.is_dir():
        return str(ref), [str(p) for p in sorted(ref.rglob("*.xml"))]
    tmp = Path(tempfile.mkdtemp(prefix="bousai-bench-"))
    paths = []
    for file, data in render_scenario(SCENARIO):
        (tmp / file).write_bytes(data)
        paths.append(str(tmp / file))
    return f"scenario {SCENARIO}", paths


def _parse_throughput() -> dict:
    corpus, paths = _parse_corpus()
    try:
        from alerts.sources.cli import parse_throughput
    except ImportError:  # measure it ourselves the same way
        blobs = [Path(p).read_bytes() for p in paths]
        t0, docs = time.perf_counter(), 0
        for _ in range(3):
            for b in blobs:
                docs += 1
                try:
                    parse_document(b)
                except Exception:
                    pass
        secs = time.perf_counter() - t0
        return {"corpus": corpus, "documents": docs, "docs_per_second": round(docs / secs, 1)}
    return {"corpus": corpus, **parse_throughput(paths)}


async def run_ingest_bench(settings: Settings, *, n: int, baseline_n: int, database_url: str, redis_url: str) -> dict:
    from server.dbsetup import create_database, upgrade

    create_database(database_url)
    await asyncio.to_thread(upgrade, database_url)
    engine = make_engine(settings, url=database_url, pool_size=8, max_overflow=4)
    sessionmaker = make_sessionmaker(engine)
    redis = make_redis(settings, url=redis_url)
    run = uuid.uuid4().hex[:8]
    server = await FeedServer().start()
    bench_settings = settings.model_copy(
        update={"jma_feeds": [server.feed_url("eqvol")], "cap_feeds": [], "feed_allowed_hosts": []}
    )
    try:
        # Warm-up (connections, first parse), not measured.
        await _measure_poller(server, bench_settings, sessionmaker, redis, 5, 0, run)
        ingest_ms, publish_ms = await _measure_poller(server, bench_settings, sessionmaker, redis, n, 5, run)
        naive_ms = await _measure_naive(server, sessionmaker, redis, baseline_n, 5 + n, run)
        on_stream = await redis.xlen(ALERTS_STREAM)
    finally:
        await server.stop()
        await redis.aclose()
        await engine.dispose()
    parse = await asyncio.to_thread(_parse_throughput)
    return {
        "bench": "ingest",
        "entries": n,
        "ingest_p50_ms": round(_pct(ingest_ms, 50), 1),
        "ingest_p99_ms": round(_pct(ingest_ms, 99), 1),
        "ingest_mean_ms": round(statistics.fmean(ingest_ms), 1),
        "publish_to_stream_p50_ms": round(_pct(publish_ms, 50), 1),
        "publish_to_stream_p99_ms": round(_pct(publish_ms, 99), 1),
        "baseline_naive_entries": baseline_n,
        "baseline_naive_p50_ms": round(_pct(naive_ms, 50), 1),
        "baseline_naive_p99_ms": round(_pct(naive_ms, 99), 1),
        "targets_ms": {"p50": TARGET_P50_MS, "p99": TARGET_P99_MS},
        "meets_targets": _pct(ingest_ms, 50) <= TARGET_P50_MS and _pct(ingest_ms, 99) <= TARGET_P99_MS,
        "stream_length": on_stream,
        "parse_docs_per_second": parse.get("docs_per_second"),
        "parse_corpus": parse.get("corpus"),
        "parse_files": parse.get("files"),
    }


def _bench_urls(settings: Settings, args) -> tuple[str, str]:
    db = args.database_url
    if not db:
        u = make_url(settings.database_url)
        db = u.set(database=f"{u.database}_bench").render_as_string(hide_password=False)
    redis_url = args.redis_url or settings.redis_url.rsplit("/", 1)[0] + "/11"
    return db, redis_url


def _cmd(args) -> int:
    from server.logging import configure_logging

    settings = get_settings()
    configure_logging("WARNING", settings.log_json)
    if args.n < 1 or args.baseline_n < 1:
        print("bench ingest: -n and --baseline-n must be positive")
        return 2
    db, redis_url = _bench_urls(settings, args)
    if args.source == "realtime":
        # the real-time variant lives in testkit.bench.realtime (cli.py wires it in)
        return args.realtime(settings, args, db, redis_url)
    print(f"bench ingest: {args.n} entries, one at a time; database {make_url(db).database}, redis {redis_url}")
    print("method: poller in a tight conditional-GET loop against a loopback feed server; per entry, time from the")
    print("  feed GET that returned the new entry to the alert committed + XADDed to alerts:new (poll interval excluded).")
    print("  baseline: naive unconditional GET + re-download + re-parse + ingest of every listed entry each cycle.")
    result = asyncio.run(run_ingest_bench(settings, n=args.n, baseline_n=args.baseline_n, database_url=db,
                                          redis_url=redis_url))
    print(f"ingest (feed GET → committed + on stream): p50 {result['ingest_p50_ms']} ms, p99 {result['ingest_p99_ms']} ms"
          f"  (targets p50 ≤ {TARGET_P50_MS:.0f} ms, p99 ≤ {TARGET_P99_MS:.0f} ms: "
          f"{'met' if result['meets_targets'] else 'NOT met'})")
    print(f"publish → on stream: p50 {result['publish_to_stream_p50_ms']} ms, p99 {result['publish_to_stream_p99_ms']} ms")
    print(f"baseline naive ({result['baseline_naive_entries']} entries): p50 {result['baseline_naive_p50_ms']} ms, "
          f"p99 {result['baseline_naive_p99_ms']} ms")
    print(f"parse: {result['parse_docs_per_second']} documents/s over {result['parse_corpus']}")
    print(orjson.dumps(result).decode())
    return 0


def register_bench(bench_subparsers) -> None:
    p = bench_subparsers.add_parser("ingest", help="feed entry → alert committed and on the stream (p50/p99)")
    p.add_argument("-n", type=int, default=200, help="entries to publish, one at a time")
    p.add_argument("--baseline-n", type=int, default=30, help="entries for the naive baseline")
    p.add_argument("--database-url", help="benchmark database (default: <configured db>_bench, created + migrated)")
    p.add_argument("--redis-url", help="benchmark Redis (default: configured Redis, db 11)")
    p.add_argument("--source", choices=("pull", "realtime"), default="pull",
                   help="realtime: DMDATA-style WebSocket message → stored, PULL as the same-run baseline")
    p.set_defaults(func=_cmd)
