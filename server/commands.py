"""Process commands: ``bousai setup``, ``bousai api``, ``bousai worker``, ``bousai scheduler``, ``bousai run``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from server.modules import optional_import
from server.settings import get_settings


def setup(args) -> int:
    """Create the database and extensions, migrate, load reference data. Safe to repeat."""
    from server.dbsetup import create_database, upgrade

    settings = get_settings()
    url = args.database_url or settings.database_url
    created = create_database(url)
    print(f"setup: database {'created' if created else 'exists'}; postgis ready", flush=True)
    upgrade(url)
    print("setup: migrations at head", flush=True)
    from geo.areas.loader import load_areas_sync

    n = load_areas_sync(url)
    print(f"setup: {n} areas loaded", flush=True)
    shelters = optional_import("geo.shelters.gsi")
    if shelters is not None and not args.skip_shelters:
        count = shelters.load_shelters_sync(url, quiet=False)
        print(f"setup: {count} shelters loaded", flush=True)
    return 0


def api(args) -> int:
    import uvicorn

    from server.metrics import prepare_multiprocess_dir, remove_multiprocess_dir

    from server.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    workers = args.workers or settings.api_workers
    # Several uvicorn workers: each keeps its metrics in files that /metrics sums.
    metrics_dir = prepare_multiprocess_dir() if workers > 1 else None
    try:
        uvicorn.run(
            "server.app:app_factory",
            factory=True,
            host=args.host or settings.host,
            port=args.port or settings.port,
            workers=workers,
            log_level="warning",
            # uvicorn's loggers propagate to the one JSON handler (server.logging), not their own
            log_config=None,
            access_log=False,
            loop="uvloop",
            http="httptools",
        )
    finally:
        remove_multiprocess_dir(metrics_dir)
    return 0


def _serve_metrics(process: str, port: int | None) -> None:
    from server.logging import configure_logging
    from server.metrics import serve_metrics
    from server.ops_settings import get_ops_settings

    settings, ops = get_settings(), get_ops_settings()
    configure_logging(settings.log_level, settings.log_json)
    default = ops.worker_metrics_port if process == "worker" else ops.scheduler_metrics_port
    serve_metrics(default if port is None else port, ops.metrics_host or settings.host, process)


def worker(args) -> int:
    runtime = optional_import("server.worker")
    if runtime is None:
        print("worker: no stream consumers are built yet", file=sys.stderr)
        return 1
    _serve_metrics("worker", args.metrics_port)
    return runtime.main(get_settings(), name=args.name)


def scheduler(args) -> int:
    """``server.scheduler.main``'s start, plus this process's metrics port and heartbeat."""
    import asyncio

    sched = optional_import("server.scheduler")
    if sched is None:
        print("scheduler: not built yet", file=sys.stderr)
        return 1
    from server.ops_settings import get_ops_settings
    from server.process_health import beat, default_name, heartbeat_key

    settings = get_settings()
    _serve_metrics("scheduler", args.metrics_port)
    key = heartbeat_key("scheduler", args.name or default_name())

    async def _run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        # On the scheduler's own loop: a stalled loop stops refreshing it.
        heartbeat = asyncio.create_task(beat(settings.redis_url, key, get_ops_settings().heartbeat_seconds, stop))
        try:
            await sched.run_scheduler(settings, stop=stop)
        finally:
            stop.set()
            await heartbeat

    asyncio.run(_run())
    return 0


def _realtime_configured() -> bool:
    """A DMDATA key in the settings (environment or .env): start the real-time source."""
    mod = optional_import("alerts.feeds.realtime_settings")
    return mod is not None and mod.get_realtime_settings().enabled


def run(args) -> int:
    """api + worker + scheduler (+ the demo feed replay) as child processes; Ctrl-C stops all."""
    from server.ops_settings import get_ops_settings

    settings, ops = get_settings(), get_ops_settings()
    env = dict(os.environ)
    procs: list[tuple[str, subprocess.Popen]] = []
    exe = [sys.executable, "-m", "server.cli"]
    if args.demo:
        port = args.demo_feed_port
        env.setdefault("BOUSAI_JMA_FEEDS", f'["http://127.0.0.1:{port}/jma/extra.xml","http://127.0.0.1:{port}/jma/eqvol.xml","http://127.0.0.1:{port}/jma/regular.xml","http://127.0.0.1:{port}/jma/other.xml"]')
        env.setdefault("BOUSAI_CAP_FEEDS", f'["http://127.0.0.1:{port}/cap/feed.xml"]')
        env.setdefault("BOUSAI_FEED_ALLOWED_HOSTS", '["127.0.0.1"]')
        env.setdefault("BOUSAI_FEED_POLL_SECONDS", "5")
        if optional_import("alerts.feeds.realtime_server") is not None:
            # One stand-in replays the scenario to both the Atom feeds and a DMDATA-style socket
            # (same bytes, EEW chain first), so the demo shows the real-time path and PULL beside it.
            rt_port = args.demo_feed_port + 1
            env.setdefault("BOUSAI_REALTIME_URL", f"http://127.0.0.1:{rt_port}/v2/socket")
            env.setdefault("BOUSAI_REALTIME_API_KEY", "local-dmdata-key")
            procs.append(("replay", subprocess.Popen(exe + ["realtime", "serve", args.scenario, "--port", str(rt_port),
                                                            "--feed-port", str(port), "--loop"], env=env)))
        elif optional_import("alerts.feeds.cli") is not None:
            procs.append(("replay", subprocess.Popen(exe + ["replay", args.scenario, "--port", str(port), "--loop"], env=env)))
    procs.append(("api", subprocess.Popen(exe + ["api"], env=env)))
    if optional_import("server.worker") is not None:
        procs.append(("worker", subprocess.Popen(exe + ["worker"], env=env)))
    if optional_import("server.scheduler") is not None:
        procs.append(("scheduler", subprocess.Popen(exe + ["scheduler"], env=env)))
    if env.get("BOUSAI_REALTIME_API_KEY") or _realtime_configured():
        procs.append(("realtime", subprocess.Popen(exe + ["realtime"], env=env)))
    print(
        f"bousai running: API http://{settings.host}:{settings.port}/docs  "
        f"(ready: /readyz, metrics: /metrics, worker :{ops.worker_metrics_port}/metrics, scheduler "
        f":{ops.scheduler_metrics_port}/metrics, pushes: bousai outbox tail -f); processes: "
        f"{', '.join(n for n, _ in procs)}. Ctrl-C to stop.",
        flush=True,
    )
    stopping = False

    def _stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    rc = 0
    try:
        while not stopping:
            for name, p in procs:
                if p.poll() is not None:
                    print(f"run: {name} exited with {p.returncode}; stopping the rest", file=sys.stderr)
                    rc = p.returncode or 1
                    stopping = True
            time.sleep(0.5)
    finally:
        for _, p in procs:
            if p.poll() is None:
                p.terminate()
        for _, p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    return rc


def register(sub) -> None:
    p = sub.add_parser("setup", help="create the database and extensions, migrate, load reference data")
    p.add_argument("--database-url", help="default: BOUSAI_DATABASE_URL")
    p.add_argument("--skip-shelters", action="store_true")
    p.set_defaults(func=setup)

    p = sub.add_parser("api", help="serve the HTTP API (uvicorn)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int)
    p.set_defaults(func=api)

    p = sub.add_parser("worker", help="consume the work streams (targeting, push, family events)")
    p.add_argument("--name", help="consumer name (default: host-pid); `bousai health worker --name` checks it")
    p.add_argument("--metrics-port", type=int, help="Prometheus /metrics port (default: BOUSAI_WORKER_METRICS_PORT; 0 = none)")
    p.set_defaults(func=worker)

    p = sub.add_parser("scheduler", help="poll feeds and run periodic jobs (one active, guarded by a Redis lock)")
    p.add_argument("--name", help="heartbeat name (default: host-pid); `bousai health scheduler --name` checks it")
    p.add_argument("--metrics-port", type=int, help="Prometheus /metrics port (default: BOUSAI_SCHEDULER_METRICS_PORT; 0 = none)")
    p.set_defaults(func=scheduler)

    p = sub.add_parser("run", help="start api + worker + scheduler locally")
    p.add_argument("--demo", action="store_true", help="also replay the demo scenario on a local feed server")
    p.add_argument("--scenario", default="fukushima_quake_then_rain")
    p.add_argument("--demo-feed-port", type=int, default=8765)
    p.set_defaults(func=run)

    from server import outbox_cli, process_health

    outbox_cli.register(sub)
    process_health.register(sub)
