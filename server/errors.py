"""One error base, rendered by one handler as ``{"error", "code", "detail"}``.

422 is kept for payload validation only (a value the database refuses as data — a NUL, a
number out of range — is one too). A dependency outage is a 503 with ``Retry-After``:
``database_unavailable`` (refused, dropped, or past its connect/statement deadline),
``redis_unavailable``, ``dependency_unavailable`` (a connection error or timeout that names
neither). Anything else unexpected is logged and becomes a 500 with the same shape (and a
test fails, because a bad request must never cause it).

Error logs never carry values: a database error's message can quote a parameter (a home's
coordinates, a token, a username), so unexpected errors are logged as their types, SQLSTATE,
statement and frames only.
"""

from __future__ import annotations

import traceback
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger()

# Retry-After for an outage when the app's settings are not at hand (see Settings).
DEFAULT_RETRY_AFTER_SECONDS = 5
# SQLSTATEs that mean the database is unavailable, not that the request was wrong:
# 08 connection exceptions, 53 insufficient resources (too many connections, disk full),
# 57014 statement timeout, 57P01-57P05 shutdown / cannot connect now / idle timeouts.
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53")
_UNAVAILABLE_SQLSTATES = ("57014", "57P01", "57P02", "57P03", "57P04", "57P05")


class AppError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, detail: Any = None, code: str | None = None, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.detail = detail
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class LimitExceeded(AppError):
    status_code = 409
    code = "limit_exceeded"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"

    def __init__(self, message: str, *, retry_after: int = DEFAULT_RETRY_AFTER_SECONDS, **kw):
        super().__init__(message, **kw)
        self.retry_after = retry_after


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is s for s in seen) or len(seen) > 20:
            continue
        seen.append(e)
        todo.extend([e.__cause__, e.__context__, getattr(e, "orig", None)])
    return seen


def _sqlstate(chain: list[BaseException]) -> str | None:
    for e in chain:
        state = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
        if isinstance(state, str):
            return state
    return None


def classify(exc: BaseException) -> tuple[int, str, str] | None:
    """(status, code, message) for an exception that is an outage or refused data; None otherwise."""
    import asyncpg
    import sqlalchemy.exc as sa_exc
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    chain = _chain(exc)
    state = _sqlstate(chain)
    if state is not None:
        if state.startswith("22"):
            return 422, "invalid_value", "a value in the request cannot be stored (out of range or not text)"
        if state.startswith(_UNAVAILABLE_SQLSTATE_CLASSES) or state in _UNAVAILABLE_SQLSTATES:
            return 503, "database_unavailable", "the database is not answering; try again shortly"
    for e in chain:
        if isinstance(e, RedisConnectionError | RedisTimeoutError):
            return 503, "redis_unavailable", "a dependency (Redis) is not answering; try again shortly"
    for e in chain:
        if isinstance(e, sa_exc.TimeoutError | asyncpg.PostgresConnectionError | asyncpg.InterfaceError) or (
            isinstance(e, sa_exc.DBAPIError) and e.connection_invalidated
        ):
            return 503, "database_unavailable", "the database is not answering; try again shortly"
    if any(isinstance(e, OSError | TimeoutError) for e in chain):
        # A connection error or timeout on its own (asyncpg's connect raises them bare): named
        # by the library it came through.
        origin = _origin(chain)
        if origin == "database" or any(isinstance(e, sa_exc.SQLAlchemyError) for e in chain):
            return 503, "database_unavailable", "the database is not answering; try again shortly"
        if origin == "redis":
            return 503, "redis_unavailable", "a dependency (Redis) is not answering; try again shortly"
        if any(isinstance(e, ConnectionError | TimeoutError) for e in chain):
            return 503, "dependency_unavailable", "a dependency is not answering; try again shortly"
    return None


def _origin(chain: list[BaseException]) -> str | None:
    for e in chain:
        for frame in reversed(traceback.extract_tb(e.__traceback__)):
            path = frame.filename.replace("\\", "/")
            if "/sqlalchemy/" in path or "/asyncpg/" in path:
                return "database"
            if "/redis/" in path:
                return "redis"
    return None


def log_safely(event: str, exc: BaseException, **fields: Any) -> None:
    """An error logged by type, SQLSTATE, statement and frames: never a message that may quote data."""
    chain = _chain(exc)
    statement = next((getattr(e, "statement", None) for e in chain if getattr(e, "statement", None)), None)
    frames = [f"{f.filename}:{f.lineno} {f.name}" for f in traceback.extract_tb(exc.__traceback__)][-12:]
    log.error(event, error_types=[type(e).__name__ for e in chain], sqlstate=_sqlstate(chain),
              statement=statement[:500] if isinstance(statement, str) else None, frames=frames, **fields)


def _retry_after(app: Any) -> int:
    settings = getattr(getattr(app, "state", None), "settings", None)
    return int(getattr(settings, "outage_retry_after_seconds", DEFAULT_RETRY_AFTER_SECONDS))


def unexpected_response(path: str, exc: BaseException, *, retry_after: int) -> JSONResponse:
    """The answer to an exception no route handled: 503 for an outage, 422 for refused data, else 500."""
    verdict = classify(exc)
    if verdict is None:
        log_safely("server.unhandled_error", exc, path=path)
        return JSONResponse(error_body("internal error", "internal_error"), status_code=500)
    status, code, message = verdict
    if status == 503:
        log.warning("server.dependency_unavailable", code=code, path=path,
                    error_types=[type(e).__name__ for e in _chain(exc)])
        return JSONResponse(error_body(message, code), status_code=503, headers={"Retry-After": str(retry_after)})
    return JSONResponse(error_body(message, code), status_code=status)


class ErrorGuardMiddleware:
    """Pure ASGI, just inside the metrics: whatever escapes the routes and the fast paths in front
    of them is answered here (:func:`unexpected_response`) and not raised further, so the server
    never logs a raw traceback (whose messages can quote personal data)."""

    def __init__(self, app, fastapi_app=None):
        self.app = app
        self.fastapi_app = fastapi_app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def _send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, _send)
        except Exception as exc:  # noqa: BLE001 - the last line before the server
            if started:  # nothing left to answer with; the connection ends short
                log_safely("server.error_after_response_started", exc, path=scope.get("path"))
                return
            response = unexpected_response(scope.get("path", ""), exc, retry_after=_retry_after(self.fastapi_app))
            await response(scope, receive, send)


def error_body(message: str, code: str, detail: Any = None) -> dict[str, Any]:
    return {"error": message, "code": code, "detail": detail}


def _jsonable_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        item = {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
        out.append(item)
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        if isinstance(exc, ServiceUnavailable):
            headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse(error_body(exc.message, exc.code, exc.detail), status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError):
        return JSONResponse(
            error_body("request validation failed", "validation_error", _jsonable_errors(exc.errors())), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(str(exc.detail), code), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        return unexpected_response(request.url.path, exc, retry_after=_retry_after(request.app))
