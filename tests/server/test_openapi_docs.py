"""The app-wide OpenAPI parts: /docs and /redoc make no request outside the app, operations
say which bearer token they need, and operation ids are readable and unique."""

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
