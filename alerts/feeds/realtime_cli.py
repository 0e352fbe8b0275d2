"""``bousai realtime`` (the real-time source's process) and ``bousai realtime serve`` (the stand-in)."""

from __future__ import annotations

import asyncio
import signal
import sys


def _run(args) -> int:
    from alerts.feeds.realtime import main
    from alerts.feeds.realtime_settings import get_realtime_settings
    from server.settings import get_settings

    return main(get_settings(), get_realtime_settings())


def _serve(args) -> int:
    """The DMDATA stand-in and a local Atom feed server, one scenario replayed to both."""
    from alerts.feeds.realtime_server import DEFAULT_API_KEY, RealtimeServer, replay
    from alerts.feeds.replay import ScenarioError, load_scenario
    from alerts.feeds.server import FeedServer
    from server.logging import configure_logging
    from server.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    try:
        load_scenario(args.scenario)
    except ScenarioError as exc:
        print(f"realtime serve: {exc}", file=sys.stderr)
        return 2
    if args.speed <= 0:
        print("realtime serve: --speed must be positive", file=sys.stderr)
        return 2

    async def main() -> None:
        server = await RealtimeServer(port=args.port, api_key=args.api_key or DEFAULT_API_KEY).start()
        feeds = await FeedServer(port=args.feed_port).start() if args.feed_port is not None else None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(f"realtime serve: {args.scenario} (speed x{args.speed}); set:", flush=True)
        for name, value in {**server.env(), **(feeds.feed_env() if feeds else {})}.items():
            print(f"  {name}='{value}'", flush=True)

        async def replay_forever() -> None:
            if args.wait_socket > 0:  # a demo's client starts beside us: let it hear the EEW
                try:
                    await server.wait_connections(1, timeout=args.wait_socket)
                except TimeoutError:
                    print("realtime serve: no socket yet; replaying anyway", flush=True)
            while True:
                done = await replay(server, args.scenario, speed=args.speed, feed_server=feeds)
                print(f"realtime serve: replayed {len(done)} documents", flush=True)
                if not args.loop:
                    return
                await asyncio.sleep(args.loop_pause)

        task = asyncio.create_task(replay_forever())
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()
            await stop.wait()  # keep the sockets and feeds up until stopped
        task.cancel()
        stopper.cancel()
        await server.stop()
        if feeds is not None:
            await feeds.stop()

    asyncio.run(main())
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("realtime", help="the real-time JMA source (DMDATA.JP WebSocket, BOUSAI_REALTIME_*)")
    p.set_defaults(func=_run)
    rsub = p.add_subparsers(dest="realtime_command", metavar="SUBCOMMAND")
    r = rsub.add_parser("run", help="connect and ingest until stopped (the default)")
    r.set_defaults(func=_run)
    s = rsub.add_parser("serve", help="local DMDATA stand-in (+ Atom feeds) replaying a scenario, EEW chain first")
    s.add_argument("scenario", nargs="?", default="fukushima_quake_then_rain")
    s.add_argument("--port", type=int, default=8766, help="stand-in port (loopback)")
    s.add_argument("--feed-port", type=int, default=None, help="also serve the documents as Atom feeds here")
    s.add_argument("--api-key", default=None, help="key the stand-in accepts (default: its built-in local key)")
    s.add_argument("--speed", type=float, default=1.0)
    s.add_argument("--loop", action="store_true", help="replay again (fresh ids and times) after each round")
    s.add_argument("--loop-pause", type=float, default=60.0)
    s.add_argument("--wait-socket", type=float, default=30.0,
                   help="seconds to wait for a first socket before replaying (0: start at once)")
    s.set_defaults(func=_serve)
