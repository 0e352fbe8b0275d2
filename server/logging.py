"""Structured logs (structlog) with dotted event names, e.g. ``alerts.push.token_unregistered``.

One stream per process: structlog's events and every stdlib logger (uvicorn, SQLAlchemy,
APScheduler, alembic, firebase-admin) go through one stdlib handler whose
``structlog.stdlib.ProcessorFormatter`` renders them alike — one JSON object per line with
``event``, ``level``, ``logger``, ``timestamp`` and, inside a request, ``request_id``.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid

import structlog

# Libraries that narrate routine work at INFO: APScheduler a line per job run (every 5 s
# with the demo's feed poll), httpx/httpcore a line per request. Their warnings still show.
QUIET_LOGGERS = ("apscheduler", "httpx", "httpcore", "hpack", "h2", "hypercorn", "websockets")

UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

REQUEST_ID_HEADER = b"x-request-id"
# A caller's (or proxy's) request id is kept if it looks like one; anything else is replaced,
# so a log line never carries a client's arbitrary text.
_REQUEST_ID_OK = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


def _shared_processors() -> list:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


class _BousaiHandler(logging.StreamHandler):
    """The handler this module installs (configuring again replaces it). It writes to
    whatever ``sys.stderr`` is when a line is written, not when logging was configured."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    lvl = getattr(logging, level.upper(), logging.INFO)
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    handler = _BousaiHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            # stdlib records (uvicorn, SQLAlchemy, ...) get the same fields as structlog's events
            foreign_pre_chain=_shared_processors(),
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                # JSON carries the traceback as a string; the console renderer formats its own
                *([structlog.processors.format_exc_info] if json else []),
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for h in [h for h in root.handlers if isinstance(h, _BousaiHandler)]:
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(lvl)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(lvl, logging.WARNING))
    # A uvicorn started in this process with its default log config (a local stand-in server)
    # gave its loggers their own plain-text handlers: send them to the one stream instead.
    for name in UVICORN_LOGGERS:
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        # Level filtering before any processor runs: a debug call costs a method lookup.
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )


class RequestIdMiddleware:
    """Gives each HTTP request an id (the caller's ``X-Request-ID`` if sane, else a new one),
    binds it to every log line written while the request runs and returns it in
    ``X-Request-ID``. Pure ASGI and outermost, so the error guard's lines carry it too."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = next((v for k, v in scope.get("headers", ()) if k == REQUEST_ID_HEADER), None)
        rid = given.decode() if given is not None and _REQUEST_ID_OK.fullmatch(given) else uuid.uuid4().hex
        raw = rid.encode()

        async def _send(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != REQUEST_ID_HEADER]
                message = {**message, "headers": [*headers, (REQUEST_ID_HEADER, raw)]}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=rid):
            await self.app(scope, receive, _send)
