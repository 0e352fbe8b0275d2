"""Scenario replay: publish a folder of documents into the local feed server as time passes.

A scenario is ``fixtures/scenarios/<name>/scenario.json``::

    {"name": ..., "description": ...,
     "documents": [{"offset_seconds": 0, "feed": "eqvol", "file": "01_VXSE51.xml"}, ...]}

Documents are templates, rendered at publish time so each run issues fresh documents
(fresh times, fresh identifiers — the store would otherwise dedupe a second run):

    {{now}}            the document's scenario time (replay start + its offset), ISO 8601 +09:00
    {{now+3600}}       an hour after that
    {{start-90}}       replay start (minus 90 s)           {{run}}       a token unique to the run
    {{…:utc}}  2026-11-22T01:02:03Z   {{…:minute}}  ISO +09:00 truncated to the minute (ReportDateTime)
    {{…:eventid}}  20261122100203 (JMA EventID of an earthquake: its origin time)
    {{sent:FILE}}      the ``{{now}}`` FILE was published with (CAP references)
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson
import structlog

from alerts.feeds.server import FEED_NAMES, FeedServer
from server.resources import fixtures_dir

log = structlog.get_logger()

JST = timezone(timedelta(hours=9))
SCENARIOS_DIR = fixtures_dir() / "scenarios"
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z]+)(?:([+-]\d+))?(?::([A-Za-z0-9._-]+))?\s*\}\}")


class ScenarioError(ValueError):
    pass


@dataclass(frozen=True)
class ScenarioDocument:
    offset_seconds: float
    feed: str
    file: str


@dataclass(frozen=True)
class Scenario:
    name: str
    folder: Path
    description: str
    documents: list[ScenarioDocument]


def resolve_scenario(name_or_path: str | Path) -> Path:
    p = Path(name_or_path)
    if (p / "scenario.json").is_file():
        return p
    candidate = SCENARIOS_DIR / str(name_or_path)
    if (candidate / "scenario.json").is_file():
        return candidate
    raise ScenarioError(f"no scenario.json in {p} or {candidate}")


def load_scenario(name_or_path: str | Path) -> Scenario:
    folder = resolve_scenario(name_or_path)
    try:
        spec = orjson.loads((folder / "scenario.json").read_bytes())
        docs = [
            ScenarioDocument(float(d["offset_seconds"]), str(d["feed"]), str(d["file"]))
            for d in spec["documents"]
        ]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ScenarioError(f"{folder}/scenario.json: {exc}") from exc
    for d in docs:
        if d.feed not in FEED_NAMES:
            raise ScenarioError(f"{d.file}: unknown feed {d.feed!r} (one of {', '.join(FEED_NAMES)})")
        if not (folder / d.file).is_file() or Path(d.file).name != d.file:
            raise ScenarioError(f"{d.file}: not a file of the scenario folder")
        if d.offset_seconds < 0:
            raise ScenarioError(f"{d.file}: negative offset")
    return Scenario(spec.get("name", folder.name), folder, spec.get("description", ""),
                    sorted(docs, key=lambda d: d.offset_seconds))


@dataclass
class RenderContext:
    start: datetime
    now: datetime
    run: str
    published: dict[str, datetime] = field(default_factory=dict)


def _fmt(dt: datetime, fmt: str | None) -> str:
    local = dt.astimezone(JST)
    if fmt in (None, "iso"):
        return local.replace(microsecond=0).isoformat()
    if fmt == "utc":
        return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if fmt == "minute":
        return local.replace(second=0, microsecond=0).isoformat()
    if fmt == "eventid":
        return local.strftime("%Y%m%d%H%M%S")
    raise ScenarioError(f"unknown time format {fmt!r}")


def render_document(template: bytes, ctx: RenderContext) -> bytes:
    if b"{{" not in template:
        return template

    def sub(m: re.Match) -> str:
        word, offset, fmt = m.group(1), m.group(2), m.group(3)
        if word == "run":
            return ctx.run
        if word == "sent":
            if fmt not in ctx.published:
                raise ScenarioError(f"{{{{sent:{fmt}}}}} before {fmt} was published")
            return _fmt(ctx.published[fmt], None)
        base = {"now": ctx.now, "start": ctx.start}.get(word)
        if base is None:
            raise ScenarioError(f"unknown placeholder {m.group(0)!r}")
        return _fmt(base + timedelta(seconds=int(offset or 0)), fmt)

    return _PLACEHOLDER.sub(sub, template.decode("utf-8")).encode("utf-8")


@dataclass(frozen=True)
class Published:
    file: str
    feed: str
    entry_id: str
    at: datetime


async def run_replay(
    scenario: str | Path,
    *,
    speed: float = 1.0,
    server: FeedServer | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    on_publish: Callable[[Published], None] | None = None,
) -> list[Published]:
    """Publish a scenario's documents on schedule (offsets divided by ``speed``).

    Starts a FeedServer when none is given (and stops it at the end); pass your own
    ``server`` to keep serving after the replay (the demo does).
    """
    if speed <= 0:
        raise ScenarioError("speed must be positive")
    spec = load_scenario(scenario)
    own = server is None
    server = server or await FeedServer(host=host, port=port).start()
    start_wall = datetime.now(UTC)
    start_mono = time.monotonic()
    ctx = RenderContext(start=start_wall, now=start_wall, run=uuid.uuid4().hex[:12])
    published: list[Published] = []
    log.info("alerts.replay.started", scenario=spec.name, documents=len(spec.documents), speed=speed,
             base_url=server.base_url)
    try:
        for seq, doc in enumerate(spec.documents):
            delay = start_mono + doc.offset_seconds / speed - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            # Scenario time, not wall time: at --speed 100 the documents still read minutes
            # apart, as they would in the real event (and keep distinct ReportDateTimes).
            ctx.now = start_wall + timedelta(seconds=doc.offset_seconds)
            data = render_document((spec.folder / doc.file).read_bytes(), ctx)
            ctx.published[doc.file] = ctx.now
            name = f"{ctx.now.astimezone(JST):%Y%m%d%H%M%S}_{ctx.run}_{seq:03d}_{doc.file}"
            entry = server.store.publish(doc.feed, name, data)
            record = Published(doc.file, doc.feed, entry.entry_id, ctx.now)
            published.append(record)
            log.info("alerts.replay.published", file=doc.file, feed=doc.feed, entry_id=entry.entry_id)
            if on_publish is not None:
                on_publish(record)
    finally:
        if own:
            await server.stop()
    return published


def render_scenario(scenario: str | Path) -> list[tuple[str, bytes]]:
    """Every document of a scenario rendered as if the replay started now and ran at full
    length (each document's times at its own offset), without waiting (tests, benchmarks)."""
    spec = load_scenario(scenario)
    start = datetime.now(UTC)
    ctx = RenderContext(start=start, now=start, run=uuid.uuid4().hex[:12])
    out = []
    for doc in spec.documents:
        ctx.now = start + timedelta(seconds=doc.offset_seconds)
        out.append((doc.file, render_document((spec.folder / doc.file).read_bytes(), ctx)))
        ctx.published[doc.file] = ctx.now
    return out
