"""One error base, rendered by one handler as ``{"error", "code", "detail"}``.

422 is kept for payload validation only; anything unexpected is logged and becomes a
500 with the same shape (and a test fails, because a bad request must never cause it).
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger()


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
        log.exception("server.unhandled_error", path=request.url.path)
        return JSONResponse(error_body("internal error", "internal_error"), status_code=500)
