"""The app-wide OpenAPI parts: readable operation ids, the bearer security schemes on the
operations that need them, and ``/docs`` + ``/redoc`` served from the app itself.

- Operation ids are the endpoint function's name (``get_me``, not ``get_me_v1_me_get``):
  what a generated client calls its methods; a name two packages share is prefixed with
  the package (``shelters_live_get_shelter``).
- Security: a domain declares its credential checks with :func:`declare_security` (the
  resident device check declares ``residentBearer``, the staff check ``staffBearer``); an
  operation whose dependencies reach one carries its requirement, so ``/docs`` has an
  Authorize button and clients know which token goes where. The kit names no domain.
- Errors: every documented 4xx / 5xx answer carries the one error body, ``ErrorOut``
  (``{error, code, detail}``, ``server.errors``), whoever declared the status.
- ``/healthz`` and ``/readyz`` (declared in ``server.app``) are documented with
  ``HealthOut`` / ``ReadyOut`` here while their routes declare no model; one they declare wins.
- Swagger UI and ReDoc load their scripts and styles from the app (files of the
  ``fastapi-offline`` package), never from a CDN: the docs work on a closed network, as
  the console must.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.responses import HTMLResponse

from server.schemas import ErrorOut, HealthOut, ReadyOut

DOCS_ASSETS = "/docs-assets"

# Filled by declare_security: scheme name -> OpenAPI security scheme.
SECURITY_SCHEMES: dict[str, dict] = {}
# dependency callable -> (scheme name, optional, precedence)
_DECLARED: dict[Callable, tuple[str, bool, int]] = {}


def declare_security(dependency: Callable, scheme_name: str, scheme: dict, *, optional: bool = False,
                     precedence: int = 1) -> None:
    """Operations whose dependencies reach ``dependency`` need the ``scheme_name`` credential
    (or may send it, when ``optional``). Of several, the lowest ``precedence`` wins (a staff
    check before a resident one)."""
    SECURITY_SCHEMES[scheme_name] = scheme
    _DECLARED[dependency] = (scheme_name, optional, precedence)


REF = "#/components/schemas/{model}"
# The ops routes of server.app, by operation id: (model, what else they answer).
OPS_ANSWERS: dict[str, tuple[type[BaseModel], dict[str, str]]] = {
    "healthz": (HealthOut, {}),
    "readyz": (ReadyOut, {"503": "Not ready: `detail` says how each dependency answered"}),
}

# operation id -> OpenAPI security requirement, recorded as the ids are generated
_SECURITY: dict[str, list[dict]] = {}


def _calls(dependant, seen: set | None = None) -> set:
    seen = set() if seen is None else seen
    for d in getattr(dependant, "dependencies", ()) or ():
        if d.call is not None and d.call not in seen:
            seen.add(d.call)
            _calls(d, seen)
    return seen


def _security_for(dependant) -> list[dict] | None:
    found = sorted((_DECLARED[c][2], _DECLARED[c][1], _DECLARED[c][0]) for c in _calls(dependant) if c in _DECLARED)
    required = [name for _p, optional, name in found if not optional]
    if required:
        return [{required[0]: []}]
    if found:
        return [{found[0][2]: []}, {}]  # a token is optional
    return None


def _area(route) -> str:
    """The package an endpoint lives in: ``geo.shelters.api`` → ``shelters``."""
    module = getattr(getattr(route, "endpoint", None), "__module__", "") or ""
    parts = [p for p in module.split(".") if p != "api"]
    return parts[-1] if parts else "app"


def operation_ids(routers) -> Callable:
    """The app's ``generate_unique_id_function``: the endpoint's own name, prefixed with its
    package only where two packages use the same name (``shelters_live_get_shelter``)."""
    owners: dict[str, set] = {}
    for router in routers:
        for r in getattr(router, "routes", ()):
            endpoint = getattr(r, "endpoint", None)
            if endpoint is not None:
                owners.setdefault(r.name, set()).add(endpoint)
    shared = {name for name, endpoints in owners.items() if len(endpoints) > 1}

    def operation_id(route) -> str:
        name = f"{_area(route)}_{route.name}" if route.name in shared else route.name
        dependant = getattr(route, "dependant", None) or getattr(getattr(route, "original_route", None), "dependant", None)
        if dependant is not None:
            security = _security_for(dependant)
            if security is not None:
                _SECURITY[name] = security
        return name

    return operation_id


def _add_model(components: dict, model: type[BaseModel]) -> dict:
    """``model`` (and what it refers to) in ``components.schemas``; its ``$ref``."""
    schema = model.model_json_schema(ref_template=REF, mode="serialization")
    schemas = components.setdefault("schemas", {})
    for name, sub in schema.pop("$defs", {}).items():
        schemas.setdefault(name, sub)
    schemas.setdefault(model.__name__, schema)
    return {"$ref": REF.format(model=model.__name__)}


def _document_answers(schema: dict) -> None:
    """The error body on every documented error status; the ops routes' success models."""
    components = schema.setdefault("components", {})
    error = _add_model(components, ErrorOut)
    for item in schema.get("paths", {}).values():
        for op in item.values():
            if not isinstance(op, dict):
                continue
            responses = op.setdefault("responses", {})
            ops = OPS_ANSWERS.get(str(op.get("operationId")))
            if ops is not None:
                model, others = ops
                ok = responses.setdefault("200", {"description": "Successful Response"})
                body = ok.setdefault("content", {}).setdefault("application/json", {})
                if not body.get("schema"):
                    body["schema"] = _add_model(components, model)
                for status, description in others.items():
                    responses.setdefault(status, {"description": description})
            for status, answer in responses.items():
                if str(status)[:1] in ("4", "5"):
                    answer["content"] = {"application/json": {"schema": error}}


def install_openapi(app: FastAPI) -> None:
    """Security schemes on the generated document, and the docs pages with local assets."""
    generate = app.openapi

    def openapi() -> dict:
        schema = generate()
        if "securitySchemes" not in schema.get("components", {}):
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            for item in schema.get("paths", {}).values():
                for op in item.values():
                    security = _SECURITY.get(str(op.get("operationId"))) if isinstance(op, dict) else None
                    if security is not None:
                        op.setdefault("security", security)  # a route's own openapi_extra wins
            _document_answers(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

    app.mount(DOCS_ASSETS, StaticFiles(directory=str(files("fastapi_offline") / "static")), name="docs-assets")

    def _root(request: Request) -> str:
        return request.scope.get("root_path", "").rstrip("/")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} — API",
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            # no validator badge: it would send the document to validator.swagger.io
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} — API",
            redoc_js_url=f"{root}{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )
