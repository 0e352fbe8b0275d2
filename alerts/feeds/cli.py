"""``bousai replay``, ``bousai feeds poll --once``, ``bousai feeds status``."""

from __future__ import annotations

import asyncio
import signal
import sys

import orjson


def _replay(args) -> int:
    from alerts.feeds.replay import ScenarioError, load_scenario, run_replay
    from alerts.feeds.server import FeedServer
    from server.logging import configure_logging
    from server.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    try:
        spec = load_scenario(args.scenario)
    except ScenarioError as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 2
    if args.speed <= 0:
        print("replay: --speed must be positive", file=sys.stderr)
        return 2

    async def main() -> None:
        server = await FeedServer(host=args.host, port=args.port).start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(f"replay: {spec.name} on {server.base_url} (speed x{args.speed}); feeds:", flush=True)
        for name, value in server.feed_env().items():
            print(f"  {name}='{value}'", flush=True)

        async def replay_forever() -> None:
            while True:
                published = await run_replay(spec.folder, speed=args.speed, server=server)
                print(f"replay: published {len(published)} documents", flush=True)
                if not args.loop:
                    return
                # Pause between rounds so an all-clear is seen before the next quake.
                await asyncio.sleep(args.loop_pause)

        task = asyncio.create_task(replay_forever())
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()
            if args.exit_after:
                stop.set()
            await stop.wait()  # keep serving the published documents until stopped
        task.cancel()
        stopper.cancel()
        await server.stop()

    asyncio.run(main())
    return 0


async def _with_poller(fn):
    from alerts.feeds.poller import FeedPoller
    from server.db import make_engine, make_sessionmaker
    from server.redis import make_redis
    from server.settings import get_settings

    settings = get_settings()
    engine = make_engine(settings, pool_size=settings.feed_fetch_concurrency + 2, application_name="bousai-feeds")
    redis = make_redis(settings)
    poller = FeedPoller(settings, make_sessionmaker(engine), redis)
    try:
        return await fn(poller)
    finally:
        await poller.aclose()
        await redis.aclose()
        await engine.dispose()


def _poll(args) -> int:
    from server.logging import configure_logging
    from server.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    if not args.once:
        print("feeds poll: only --once is supported here; `bousai scheduler` polls continuously", file=sys.stderr)
        return 2

    async def run(poller):
        return await poller.poll_once()

    summary = asyncio.run(_with_poller(run))
    print(orjson.dumps(summary.as_dict(), option=orjson.OPT_INDENT_2).decode())
    return 1 if summary.feeds_failed and summary.feeds_failed == summary.feeds_polled else 0


def _status(args) -> int:
    from alerts.feeds import repository as feeds_repo
    from alerts.feeds.budget import ByteBudget

    async def run(poller):
        async with poller.sessionmaker() as s:
            states, counts, recent_errors = await feeds_repo.status_summary(s)
        budget = ByteBudget(poller.redis, poller.settings.feed_daily_byte_budget)
        try:
            used = await budget.used()
        except Exception as exc:  # status must answer even with Redis down
            used = f"unavailable: {exc}"
        return {
            "realtime": await _realtime_status(poller.redis),
            "feeds": [
                {
                    "url": st.url,
                    "last_status": st.last_status,
                    "last_polled_at": st.last_polled_at.isoformat() if st.last_polled_at else None,
                    "last_success_at": st.last_success_at.isoformat() if st.last_success_at else None,
                    "consecutive_errors": st.consecutive_errors,
                    "next_attempt_at": st.next_attempt_at.isoformat() if st.next_attempt_at else None,
                    "last_error": st.last_error,
                    "etag": st.etag,
                }
                for st in states
            ],
            "entries": counts,
            "recent_problems": [{"entry_id": e, "error": err} for e, err in recent_errors],
            "bytes_today": used,
            "daily_byte_budget": poller.settings.feed_daily_byte_budget,
        }

    print(orjson.dumps(asyncio.run(_with_poller(run)), option=orjson.OPT_INDENT_2).decode())
    return 0


async def _realtime_status(redis) -> dict:
    """The real-time source: on or off, its sockets, and what PULL found that it had missed."""
    from alerts.feeds.realtime_gap import gap_status
    from alerts.feeds.realtime_settings import get_realtime_settings

    realtime = get_realtime_settings()
    out: dict = {"enabled": realtime.enabled, "url": realtime.url, "classifications": realtime.classifications}
    if not realtime.enabled:
        out["note"] = "off (BOUSAI_REALTIME_API_KEY unset): JMA through the PULL feeds only, minutes behind, no EEW"
    try:
        from alerts.feeds.realtime import connection_status

        out["connections"] = await connection_status(redis)
        out.update(await gap_status(redis))
    except Exception as exc:  # status must answer even with Redis down
        out["unavailable"] = str(exc)[:200]
    return out


def _demo_processes(args, env: dict[str, str]) -> list[tuple[str, list[str]]]:
    """``bousai run --demo``: the scenario replayed to local Atom feeds and a DMDATA-style
    socket (same bytes, EEW chain first), so the demo shows the real-time path and PULL."""
    if not args.demo:
        return []
    port = args.demo_feed_port
    base = f"http://127.0.0.1:{port}"
    env.setdefault("BOUSAI_JMA_FEEDS", orjson.dumps([f"{base}/jma/{f}.xml" for f in ("extra", "eqvol", "regular", "other")]).decode())
    env.setdefault("BOUSAI_CAP_FEEDS", f'["{base}/cap/feed.xml"]')
    env.setdefault("BOUSAI_FEED_ALLOWED_HOSTS", '["127.0.0.1"]')
    env.setdefault("BOUSAI_FEED_POLL_SECONDS", "5")
    rt_port = port + 1
    env.setdefault("BOUSAI_REALTIME_URL", f"http://127.0.0.1:{rt_port}/v2/socket")
    env.setdefault("BOUSAI_REALTIME_API_KEY", "local-dmdata-key")
    return [("replay", ["realtime", "serve", args.scenario, "--port", str(rt_port), "--feed-port", str(port), "--loop"])]


def _realtime_process(args, env: dict[str, str]) -> list[tuple[str, list[str]]]:
    """The real-time source, when a DMDATA key is set (environment, .env or the demo)."""
    from alerts.feeds.realtime_settings import get_realtime_settings

    if env.get("BOUSAI_REALTIME_API_KEY") or get_realtime_settings().enabled:
        return [("realtime", ["realtime"])]
    return []


# In this order: the demo sets the real-time key the second one looks for.
RUN_PROCESSES = [_demo_processes, _realtime_process]


def register(subparsers) -> None:
    run = subparsers.choices["run"]
    run.add_argument("--scenario", default="fukushima_quake_then_rain", help="demo scenario (with --demo)")
    run.add_argument("--demo-feed-port", type=int, default=8765, help="local feed server port (with --demo)")
    p = subparsers.add_parser("replay", help="serve a scenario's documents as JMA/CAP Atom feeds on loopback, in time")
    p.add_argument("scenario", help="scenario name under fixtures/scenarios/ or a folder with scenario.json")
    p.add_argument("--speed", type=float, default=1.0, help="time factor (10 = ten times faster)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--loop", action="store_true", help="replay again (fresh ids and times) after each round")
    p.add_argument("--loop-pause", type=float, default=60.0, help="seconds between rounds with --loop")
    p.add_argument("--exit-after", action="store_true", help="exit when the scenario has been published")
    p.set_defaults(func=_replay)

    feeds = subparsers.add_parser("feeds", help="feed polling: one cycle, status")
    fsub = feeds.add_subparsers(dest="feeds_command", metavar="SUBCOMMAND")
    fsub.required = True
    p = fsub.add_parser("poll", help="poll the configured feeds (BOUSAI_JMA_FEEDS / BOUSAI_CAP_FEEDS)")
    p.add_argument("--once", action="store_true", help="one cycle, print a summary")
    p.set_defaults(func=_poll)
    p = fsub.add_parser("status", help="per-feed state, entry counts, recent problems, today's bytes, realtime gaps")
    p.set_defaults(func=_status)

    from alerts.feeds.realtime_cli import register as register_realtime

    register_realtime(subparsers)
