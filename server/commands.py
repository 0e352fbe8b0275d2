"""Process commands: ``bousai setup``, ``bousai api``, ``bousai worker``, ``bousai scheduler``, ``bousai run``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from server import discovery
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
    # Reference data, from the domains that own it (areas before shelters: package order).
    for step in discovery.collect("cli", "SETUP_STEPS"):
        step(url, args)
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
    from server import worker as runtime

    _serve_metrics("worker", args.metrics_port)
    return runtime.main(get_settings(), name=args.name)


def scheduler(args) -> int:
    """``server.scheduler.main``'s start, plus this process's metrics port and heartbeat."""
    import asyncio

    from server import scheduler as sched

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


def run(args) -> int:
    """api + worker + scheduler (+ the demo feed replay) as child processes; Ctrl-C stops all."""
    from server.ops_settings import get_ops_settings

    settings, ops = get_settings(), get_ops_settings()
    env = dict(os.environ)
    procs: list[tuple[str, subprocess.Popen]] = []
    exe = [sys.executable, "-m", "server.cli"]
    # A domain's own processes beside them (the demo feed replay, the real-time source);
    # each may set defaults in env for the others first, so they are asked before any start.
    extras = [spec for extra in discovery.collect("cli", "RUN_PROCESSES") for spec in extra(args, env)]
    for name, argv in extras:
        procs.append((name, subprocess.Popen(exe + argv, env=env)))
    procs.append(("api", subprocess.Popen(exe + ["api"], env=env)))
    procs.append(("worker", subprocess.Popen(exe + ["worker"], env=env)))
    procs.append(("scheduler", subprocess.Popen(exe + ["scheduler"], env=env)))
    print(
        f"bousai running: API http://{settings.host}:{settings.port}/docs  "
        f"(ready: /readyz, metrics: /metrics, worker :{ops.worker_metrics_port}/metrics, scheduler "
        f":{ops.scheduler_metrics_port}/metrics, pushes: bousai pushes tail -f); processes: "
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
    p.set_defaults(func=run)

    from server import process_health

    process_health.register(sub)
