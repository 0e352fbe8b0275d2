"""Local feed server: JMA-style Atom feeds and their documents on loopback.

Used by the demo (`bousai run --demo`, `bousai replay`), the poller tests and the ingest
benchmark. It speaks the part of HTTP the poller relies on: strong ETags, Last-Modified,
304 on If-None-Match / If-Modified-Since, and it can be told to fail (5xx/429) or serve
raw feed bytes, so error paths are tested against a real server.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import structlog
import uvicorn
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alerts.feeds.atom import AtomEntry, render_feed
from alerts.sources.safexml import DocumentError, parse_xml

log = structlog.get_logger()

FEED_NAMES = ("extra", "eqvol", "regular", "other", "cap")
FEED_TITLES = {
    "extra": "随時",
    "eqvol": "地震火山",
    "regular": "定時",
    "other": "その他",
    "cap": "CAP 避難情報・避難所情報",
}
# JMA's high-frequency feeds keep roughly the last ten minutes; a bounded window keeps the
# local server realistic (and the feed small) when a benchmark publishes hundreds of entries.
DEFAULT_FEED_WINDOW = 100
_SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]{1,200}$")


def _text(root: etree._Element, local: str) -> str | None:
    found = root.xpath(f"//*[local-name()='{local}']")
    if found and found[0].text:
        return found[0].text.strip()
    return None


def describe_document(data: bytes) -> tuple[str, str, str]:
    """(title, author, content) for an Atom entry, read from the document itself."""
    try:
        root = parse_xml(data)
    except DocumentError:
        return ("不明な電文", "不明", "")
    if root.tag.endswith("}Report"):
        return (
            _text(root, "Title") or "気象庁防災情報",
            _text(root, "EditorialOffice") or "気象庁",
            (root.xpath("string(//*[local-name()='Headline']/*[local-name()='Text'])") or "").strip()[:500],
        )
    return (_text(root, "event") or "CAP", _text(root, "senderName") or _text(root, "sender") or "", _text(root, "headline") or "")


def classify_feed(data: bytes) -> str:
    """Which JMA feed a document belongs to (CAP → ``cap``)."""
    try:
        root = parse_xml(data)
    except DocumentError:
        return "other"
    if not root.tag.endswith("}Report"):
        return "cap"
    title = _text(root, "Title") or ""
    if any(k in title for k in ("震", "津波", "火山", "噴火", "降灰")):
        return "eqvol"
    if any(k in title for k in ("警報", "注意報", "土砂", "洪水", "竜巻", "記録的短時間", "特別")):
        return "extra"
    return "other"


@dataclass
class FeedStore:
    """What the server publishes. Mutated by ``publish``; read by the request handlers."""

    window: int = DEFAULT_FEED_WINDOW
    entries: dict[str, list[AtomEntry]] = field(default_factory=lambda: {n: [] for n in FEED_NAMES})
    documents: dict[str, bytes] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=lambda: {n: 0 for n in FEED_NAMES})
    modified: dict[str, datetime] = field(default_factory=lambda: {n: datetime.now(UTC) for n in FEED_NAMES})
    raw_feeds: dict[str, bytes] = field(default_factory=dict)
    failures: dict[str, list[int]] = field(default_factory=dict)
    requests: list[tuple[str, int]] = field(default_factory=list)
    # Seconds every document response waits (tests interrupt a poll mid-fetch with it).
    document_delay: float = 0.0
    base_url: str = "http://127.0.0.1"

    def publish(self, feed: str, name: str, data: bytes, *, link: str | None = None,
                updated: datetime | None = None) -> AtomEntry:
        if feed not in self.entries:
            raise ValueError(f"unknown feed {feed!r}; one of {FEED_NAMES}")
        if not _SAFE_NAME.match(name):
            raise ValueError(f"unsafe document name {name!r}")
        self.documents[name] = data
        title, author, content = describe_document(data)
        url = link or f"{self.base_url}/data/{name}"
        entry = AtomEntry(entry_id=url, title=title, updated=updated or datetime.now(UTC), author=author,
                          link=url, content=content)
        self.entries[feed] = [*self.entries[feed], entry][-self.window:]
        self.versions[feed] += 1
        self.modified[feed] = datetime.now(UTC)
        return entry

    def fail_next(self, path: str, status: int, times: int = 1) -> None:
        """Answer the next ``times`` requests for ``path`` (e.g. ``/jma/extra.xml``) with ``status``."""
        self.failures.setdefault(path, []).extend([status] * times)

    def feed_bytes(self, feed: str) -> bytes:
        if feed in self.raw_feeds:
            return self.raw_feeds[feed]
        return render_feed(title=FEED_TITLES[feed], feed_url=f"{self.base_url}{feed_path(feed)}",
                           updated=self.modified[feed], entries=self.entries[feed])

    def etag(self, feed: str) -> str:
        if feed in self.raw_feeds:
            return '"' + hashlib.sha256(self.raw_feeds[feed]).hexdigest()[:16] + '"'
        return f'"{feed}-{self.versions[feed]}"'


def feed_path(name: str) -> str:
    """URL path of a feed: ``/jma/<name>.xml`` for JMA's four, ``/cap/feed.xml`` for CAP."""
    return "/cap/feed.xml" if name == "cap" else f"/jma/{name}.xml"


def _not_modified(request: Request, etag: str, modified: datetime) -> bool:
    inm = request.headers.get("if-none-match")
    if inm is not None:  # RFC 9110: If-None-Match wins; If-Modified-Since is then ignored
        return etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
    ims = request.headers.get("if-modified-since")
    if ims:
        try:
            return modified.replace(microsecond=0) <= parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
    return False


def build_app(store: FeedStore) -> Starlette:
    def failure(request: Request) -> Response | None:
        queue = store.failures.get(request.url.path)
        if queue:
            status = queue.pop(0)
            store.requests.append((request.url.path, status))
            headers = {"Retry-After": "1"} if status == 429 else None
            return Response(f"injected {status}", status_code=status, headers=headers)
        return None

    async def feed(request: Request) -> Response:
        name = request.path_params.get("name", "cap")
        if name not in store.entries or (name == "cap") != request.url.path.startswith("/cap/"):
            return Response("no such feed", status_code=404)
        if (injected := failure(request)) is not None:
            return injected
        etag = store.etag(name)
        headers = {"ETag": etag, "Last-Modified": format_datetime(store.modified[name], usegmt=True),
                   "Cache-Control": "no-cache"}
        if _not_modified(request, etag, store.modified[name]):
            store.requests.append((request.url.path, 304))
            return Response(status_code=304, headers=headers)
        store.requests.append((request.url.path, 200))
        return Response(store.feed_bytes(name), media_type="application/atom+xml", headers=headers)

    async def document(request: Request) -> Response:
        name = request.path_params["name"]
        if store.document_delay:
            await asyncio.sleep(store.document_delay)
        if (injected := failure(request)) is not None:
            return injected
        data = store.documents.get(name)
        if data is None:
            store.requests.append((request.url.path, 404))
            return Response("no such document", status_code=404)
        etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        store.requests.append((request.url.path, 200))
        return Response(data, media_type="application/xml", headers={"ETag": etag})

    return Starlette(
        routes=[Route("/jma/{name}.xml", feed), Route("/cap/feed.xml", feed), Route("/data/{name}", document)]
    )


class FeedServer:
    """A FeedStore served by uvicorn on loopback; ``port=0`` picks a free port."""

    def __init__(self, store: FeedStore | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.store = store or FeedStore()
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def feed_url(self, name: str) -> str:
        return f"{self.base_url}{feed_path(name)}"

    def feed_env(self) -> dict[str, str]:
        """BOUSAI_JMA_FEEDS / BOUSAI_CAP_FEEDS pointing a poller at this server (JSON lists)."""
        import json

        jma = [self.feed_url(n) for n in ("extra", "eqvol", "regular", "other")]
        return {"BOUSAI_JMA_FEEDS": json.dumps(jma), "BOUSAI_CAP_FEEDS": json.dumps([self.feed_url("cap")]),
                "BOUSAI_FEED_ALLOWED_HOSTS": json.dumps([self.host])}

    async def start(self) -> FeedServer:
        config = uvicorn.Config(build_app(self.store), host=self.host, port=self.port, log_level="warning",
                                lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # older uvicorn; the caller owns signals
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises the bind error
            await asyncio.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        self.store.base_url = self.base_url
        log.info("alerts.feed_server.started", base_url=self.base_url)
        return self

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = None

    async def __aenter__(self) -> FeedServer:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()


async def serve_folder(folder: str | Path, *, host: str = "127.0.0.1", port: int = 0) -> FeedServer:
    """Serve every ``*.xml`` document of a folder at once, each in the feed its type belongs to."""
    server = await FeedServer(host=host, port=port).start()
    for path in sorted(Path(folder).glob("*.xml")):
        data = path.read_bytes()
        server.store.publish(classify_feed(data), path.name, data)
    return server
