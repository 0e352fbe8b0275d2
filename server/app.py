"""App factory. Engines and clients are built in the lifespan and handed down via ``app.state``.

Routers are discovered: every ``api.py`` module in the domain packages that defines
``router`` is mounted, an optional ``async on_startup(app)`` in it runs in the lifespan
(e.g. geo loads the area index it geocodes with), and an optional
``install_middleware(app)`` may add a fast path for a hot route. The kit never imports a
domain by name, so the dependency direction stays one way.
"""

from __future__ import annotations

import asyncio
import gc
from contextlib import asynccontextmanager

import asyncpg
import structlog
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from server.db import asyncpg_dsn, make_engine, make_sessionmaker, warm_pool
from server.error_language import ErrorLanguageMiddleware
from server.errors import ErrorGuardMiddleware, error_body, install_error_handlers
from server.input_guard import NulGuardMiddleware
from server.logging import RequestIdMiddleware, configure_logging
from server.metrics import MetricsMiddleware, metrics_response
from server.middleware import BodySizeLimitMiddleware
from server.ratelimit import ResidentRateLimit
from server import discovery, fastpath, readcache
from server.discovery import import_all_models
from server.openapi_docs import install_openapi, operation_ids
from server.redis import make_redis
from server.schemas import ErrorOut, HealthOut, ReadyOut
from server.settings import Settings, get_settings

log = structlog.get_logger()

# Each readiness check's deadline: load balancers probe with ~2 s timeouts, and a probe that
# times out says less than a 503 that names what is down.
READINESS_CHECK_SECONDS = 1.5
# Closing the pools at shutdown: a clean close is milliseconds; past this the database is gone.
SHUTDOWN_CLOSE_SECONDS = 2.0


def discover_api_modules() -> list:
    return list(discovery.modules("api"))


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    import_all_models()
    api_modules = discover_api_modules()
    # The public read caches (server.readcache) count their generations in this app's Redis,
    # as every other process does through BOUSAI_REDIS_URL (an app built with other
    # settings, e.g. tests, uses its own).
    readcache.configure(settings.redis_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.settings = settings
        app.state.engine = make_engine(
            settings, statement_timeout=settings.db_statement_timeout_seconds, application_name="bousai-api"
        )
        app.state.sessionmaker = make_sessionmaker(app.state.engine)
        # Open before serving, kept in both pools (settings.db_pool_warm_connections).
        warm = min(settings.db_pool_warm_connections, settings.db_pool_size)
        await warm_pool(app.state.engine, warm)
        app.state.redis = make_redis(settings)
        # Raw asyncpg pool of the hot paths (server.fastpath's reads, current-location
        # writes): one round trip per statement, FIFO-fair waits, no ORM. Its commits do not
        # wait for the WAL flush: only writes that may be lost in a crash go through it (a
        # current location, sent again by the phone); reads are unaffected.
        app.state.raw_pg = await asyncpg.create_pool(
            asyncpg_dsn(settings.database_url),
            min_size=max(1, warm),
            max_size=settings.db_pool_size,
            server_settings={
                "synchronous_commit": "off",
                "application_name": "bousai-api-raw",
                "statement_timeout": str(
                    int(settings.db_statement_timeout_seconds * 1000)
                ),
            },
            # The same deadlines as the engine's: an outage is a 503, never a hang.
            timeout=settings.db_connect_timeout_seconds,
            command_timeout=settings.db_statement_timeout_seconds,
            reset=_keep_session_state,
        )
        for hook in discovery.callables("api", "on_startup"):
            await hook(app)
        # Everything built so far lives as long as the process: keep it out of the cyclic
        # GC's generations so collections stay short on the request path.
        gc.freeze()
        log.info("server.started", routers=[m.__name__ for m in api_modules])
        try:
            yield
        finally:
            for hook in discovery.callables("api", "on_shutdown"):
                await hook(app)
            await app.state.redis.aclose()
            # A database that stopped answering must not hold the shutdown too.
            try:
                async with asyncio.timeout(SHUTDOWN_CLOSE_SECONDS):
                    await app.state.raw_pg.close()
            except TimeoutError:
                app.state.raw_pg.terminate()
            try:
                async with asyncio.timeout(SHUTDOWN_CLOSE_SECONDS):
                    await app.state.engine.dispose()
            except TimeoutError:
                log.warning("server.engine_dispose_timeout")

    app = FastAPI(
        title="bousai",
        version="0.1.0",
        description="Disaster-prevention backend for Fukushima: places, shelters, alerts, My Evacuation, family safety.",
        lifespan=lifespan,
        # /docs and /redoc come from server.openapi_docs, with their assets served here
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_ids([m.router for m in api_modules]),
        responses={
            400: {"description": "Bad request: `{error, code, detail}`"},
            401: {"description": "Missing or unknown token: `{error, code, detail}`"},
            422: {"description": "Payload validation failed: `{error, code, detail}`"},
        },
    )
    install_error_handlers(app)
    install_openapi(app)
    app.state.settings = settings

    @app.get("/healthz", tags=["ops"], response_model=HealthOut)
    async def healthz():
        return {"status": "ok"}

    async def _database_ok() -> None:
        async with app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    abandoned: set[asyncio.Task] = set()

    async def _check(check) -> str:
        # Not awaited past the deadline: a check cancelled on a silent database can take as
        # long again to unwind (closing its connection), and /readyz answers within 2 s.
        task = asyncio.ensure_future(check())
        done, _ = await asyncio.wait({task}, timeout=READINESS_CHECK_SECONDS)
        if not done:
            task.cancel()
            abandoned.add(task)
            task.add_done_callback(
                lambda t: (abandoned.discard(t), t.cancelled() or t.exception())
            )
            return "error: no answer within %.1f s" % READINESS_CHECK_SECONDS
        if task.exception() is not None:  # readiness must answer, whatever broke
            return f"error: {type(task.exception()).__name__}"
        return "ok"

    @app.get("/readyz", tags=["ops"], response_model=ReadyOut, responses={503: {"model": ErrorOut}})
    async def readyz():
        # Both checks at once, each within its deadline.
        db, redis = await asyncio.gather(
            _check(_database_ok), _check(app.state.redis.ping)
        )
        checks = {"database": db, "redis": redis}
        ok = all(v == "ok" for v in checks.values())
        if not ok:
            return JSONResponse(
                {**error_body("not ready", "not_ready", checks)},
                status_code=503,
                headers={"Retry-After": str(settings.outage_retry_after_seconds)},
            )
        return {"status": "ready", "checks": checks}

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics():
        return metrics_response()

    for m in api_modules:
        app.include_router(m.router)
        # A domain may put a pure-ASGI fast path in front of the router for its hottest route.
        if hasattr(m, "install_middleware"):
            m.install_middleware(app)
    # The GET fast paths the domains registered there: one layer, in front of the routers.
    fastpath.install(app)

    # Outside the routers and their fast paths: no NUL reaches any of them (server.input_guard).
    app.add_middleware(
        NulGuardMiddleware, body_timeout=settings.request_body_timeout_seconds
    )
    app.add_middleware(
        ResidentRateLimit,
        fastapi_app=app,
        per_minute=settings.resident_requests_per_minute,
    )
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    # Whatever escapes is answered here (503 for an outage) and logged without values.
    app.add_middleware(ErrorGuardMiddleware, fastapi_app=app)
    # Errors said in the language the client asks for (the code and the English stay).
    app.add_middleware(ErrorLanguageMiddleware)
    app.add_middleware(MetricsMiddleware)
    # Outermost: every line logged for a request, the error guard's included, carries its id.
    app.add_middleware(RequestIdMiddleware)
    return app


async def _keep_session_state(conn) -> None:
    """The raw pool's reset on release, in place of asyncpg's default query (``RESET ALL``,
    ``CLOSE ALL``, ``UNLISTEN *``, ``pg_advisory_unlock_all()``: one more round trip on every
    release, about a fifth of a fast-path read's statements). asyncpg still rolls back a
    transaction left open and drops listeners itself before calling this; the pool's users
    only read and write rows (statements or ``conn.transaction()`` blocks), never SET, LISTEN,
    lock by advisory or hold cursors, so there is nothing else to undo."""


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory server.app:app_factory``."""
    return create_app()
