"""Shapes every package's responses share: the error body, the ops answers, and the field
types that keep a route's JSON exactly as it was written when a response model types it.

- ``Timestamp``: a ``datetime`` (or an ISO 8601 string made by ``isoformat()``) written with
  ``isoformat()``: ``2026-12-05T06:00:00+00:00``, as the routes wrote them before they were
  typed (pydantic alone would write ``…Z``).
- ``IsoTime``: a timestamp the service already made a string of, passed through as is.
- ``JsonAny``: an open-ended value (a database row's JSON, an audit snapshot), written as
  FastAPI writes an untyped answer (``jsonable_encoder``: dates ``isoformat()``, decimals as
  numbers).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field, PlainSerializer, WithJsonSchema
from starlette.responses import Response


def _iso(value: datetime) -> str:
    return value.isoformat()


Timestamp = Annotated[
    datetime,
    PlainSerializer(_iso, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
IsoTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
JsonAny = Annotated[Any, PlainSerializer(jsonable_encoder, when_used="json")]
JsonObject = Annotated[
    dict[str, Any], PlainSerializer(jsonable_encoder, when_used="json")
]


class ErrorOut(BaseModel):
    """Every error answer (4xx, 5xx): ``{error, code, detail}`` (``server.errors``)."""

    error: str = Field(
        description="what went wrong, in English (or the language asked for)",
        examples=["no shelter 'x'"],
    )
    code: str = Field(
        description="stable machine-readable code",
        examples=["not_found", "validation_error"],
    )
    detail: Any = Field(
        None,
        description="more about it: the invalid fields, the limits, …; null when nothing more",
    )


class HealthOut(BaseModel):
    """The process answers (no dependency is checked)."""

    status: Literal["ok"]


class ReadyOut(BaseModel):
    """The database and Redis both answered; a 503 with ``detail`` = the checks otherwise."""

    status: Literal["ready"]
    checks: dict[str, str] = Field(
        description="each dependency and how it answered",
        examples=[{"database": "ok", "redis": "ok"}],
    )


def text_body(
    media_type: str, description: str | None = None
) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that answers a document (CSV, XML, SVG): its real media type
    with a string schema, in place of FastAPI's ``application/json``."""
    ok: dict[str, Any] = {"content": {media_type: {"schema": {"type": "string"}}}}
    if description:
        ok["description"] = description
    return {200: ok}


class CsvResponse(Response):
    media_type = "text/csv"


class AtomResponse(Response):
    media_type = "application/atom+xml"


class CapXmlResponse(Response):
    media_type = "application/cap+xml"


class XmlResponse(Response):
    media_type = "application/xml"


class SvgResponse(Response):
    media_type = "image/svg+xml"
