"""The app-wide OpenAPI parts: /docs and /redoc make no request outside the app, operations
say which bearer token they need, operation ids are readable and unique, every operation
declares a typed success answer (documents their real media type) and every error answer
the error body."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

URL_ATTRS = {"src", "href"}


class _Urls(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [v for k, v in attrs if k in URL_ATTRS and v]


async def _page_assets(client, path: str) -> tuple[str, list[str]]:
    r = await client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    parser = _Urls()
    parser.feed(r.text)
    return r.text, parser.urls


async def test_swagger_ui_and_redoc_load_everything_from_the_app(client):
    for path in ("/docs", "/redoc"):
        html, urls = await _page_assets(client, path)
        assert urls, path
        assert all(u.startswith("/") for u in urls), (path, urls)
        assert not re.search(r"https?://", html), (path, re.findall(r"https?://[^\s'\"]+", html))
        for u in urls:
            asset = await client.get(u)
            assert asset.status_code == 200 and len(asset.content) > 1000, u
    swagger = (await client.get("/docs")).text
    assert "'validatorUrl': null" in swagger or '"validatorUrl": null' in swagger  # no badge from validator.swagger.io


async def test_operations_declare_the_bearer_token_they_need(client):
    schema = (await client.get("/openapi.json")).json()
    assert set(schema["components"]["securitySchemes"]) == {"residentBearer", "staffBearer"}
    assert all(s["scheme"] == "bearer" for s in schema["components"]["securitySchemes"].values())
    ops = {op["operationId"]: op for item in schema["paths"].values() for op in item.values()}
    assert ops["get_me"]["security"] == [{"residentBearer": []}]
    assert ops["register_device"]["security"] == [{"residentBearer": []}, {}]  # a token is optional there
    staff = [op for path, item in schema["paths"].items() if path.startswith("/v1/staff/") for op in item.values()]
    signed_in = [op for op in staff if op.get("security") == [{"staffBearer": []}]]
    assert len(signed_in) >= len(staff) - 2  # all but signing in (and its like)
    assert "security" not in schema["paths"]["/healthz"]["get"]


async def test_operation_ids_are_readable_and_unique(client):
    schema = (await client.get("/openapi.json")).json()
    ids = [op["operationId"] for item in schema["paths"].values() for op in item.values()]
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert not [i for i in ids if re.search(r"_(get|post|put|patch|delete)$", i)]  # not FastAPI's generated ones
    assert {"get_me", "shelters_get_shelter", "shelters_live_get_shelter"} <= set(ids)


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, op in item.items():
            yield f"{method.upper()} {path}", op


async def test_every_operation_declares_a_typed_success_answer(client):
    schema = (await client.get("/openapi.json")).json()
    untyped = []
    for name, op in _operations(schema):
        answers = {code: r for code, r in op.get("responses", {}).items() if code.startswith("2")}
        typed = any(
            (code == "204" and not r.get("content"))
            or any(body.get("schema") for body in r.get("content", {}).values())
            for code, r in answers.items()
        )
        if not typed:
            untyped.append(name)
    assert untyped == []


async def test_every_error_answer_documented_is_the_error_body(client):
    schema = (await client.get("/openapi.json")).json()
    error = schema["components"]["schemas"]["ErrorOut"]
    assert {"error", "code", "detail"} <= set(error["properties"]) and set(error["required"]) == {"error", "code"}
    wrong = []
    for name, op in _operations(schema):
        for code, r in op.get("responses", {}).items():
            if code.startswith("4"):
                if r.get("content") != {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}:
                    wrong.append(f"{name} {code}")
    assert wrong == []
    assert "503" in schema["paths"]["/readyz"]["get"]["responses"]
    answer = await client.get("/v1/staff/me")  # no token
    assert answer.status_code == 401 and set(answer.json()) == {"error", "code", "detail"}


DOCUMENTS = {
    "/v1/feeds/cap.atom": "application/atom+xml",
    "/v1/feeds/cap/{message_id}.xml": "application/cap+xml",
    "/v1/groups/{group_id}/pfif.xml": "application/xml",
    "/v1/staff/reports/notices/{notice_id}.csv": "text/csv",
    "/v1/staff/reports/alerts.csv": "text/csv",
    "/v1/staff/reports/safety.csv": "text/csv",
    "/v1/staff/roster.csv": "text/csv",
    "/v1/staff/shelters/{shelter_id}/checkin-code.svg": "image/svg+xml",
}


async def test_documents_declare_their_own_media_type_and_no_json(client):
    schema = (await client.get("/openapi.json")).json()
    for path, media_type in DOCUMENTS.items():
        content = schema["paths"][path]["get"]["responses"]["200"]["content"]
        assert content == {media_type: {"schema": {"type": "string"}}}, path
    json_only = [
        name
        for name, op in _operations(schema)
        if not any(name.endswith(p) for p in DOCUMENTS)
        for r in [op["responses"].get("200") or op["responses"].get("201")]
        if r and set(r.get("content", {})) != {"application/json"}
    ]
    assert json_only == []
    health = await client.get("/healthz")
    assert health.json() == {"status": "ok"}
    assert schema["paths"]["/healthz"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HealthOut"
    }
