"""``bousai simulate``: what each document of a sequence tells each test resident.

The documents go, in the order given, through the real path — parse → store (ingest, the
event's facts) → targeting → preferences → transitions → composition (``fan_out``) — in
a throwaway database, each on the clock of its own report time (as if it had just been
received, so freshness and expiry act as they would have live). One test resident per
row of ``PLACES.csv``; one JSON line per resident-facing outcome; nothing for residents a
document does not change. The output is a contract other tools depend on:

``{"doc", "place", "action": new|raise|lower|clear|cancel|hold, "category", "product",
"level", "life_critical", "critical", "intensity", "tsunami_grade", "language", "title",
"body"}``, then ``{"simulate": {"documents": N, "places": M, "outcomes": K}}``.

``PLACES.csv``: header ``id,lat,lon`` and optional ``kind`` (home/work/school/family/other/
current), ``language`` (ja), ``quiet`` (``1``: quiet hours all day), ``threshold`` (seismic
intensity, ``1`` … ``7``, ``5-`` or ``5弱``), and ``city`` (7-digit JMA city code),
``quake_area`` (3 digits), ``tsunami_area`` (3 digits), ``municipality`` (6 digits): when any
code is set, the place has exactly those codes (documents about any prefecture can be
simulated); otherwise its point is geocoded with the project's Fukushima areas.
"""

from __future__ import annotations

import asyncio
import csv
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from alerts.facts import normalize_intensity, product_of
from my_evacuation.places import repository as places_repo
from my_evacuation.residents import repository as residents_repo

ACTIONS = {"new": "new", "raised": "raise", "lowered": "lower", "cleared": "clear", "cancelled": "cancel", "held": "hold"}
KINDS = ("home", "work", "school", "family", "other", "current")
CODE_COLUMNS = {"city": "jma_city_code", "quake_area": "quake_area_code", "tsunami_area": "tsunami_area_code",
                "municipality": "municipality_code"}
# Quiet hours "at any time".
ALL_DAY = {"start": "00:00", "end": "24:00", "tz": "Asia/Tokyo"}


class PlacesError(ValueError):
    """PLACES.csv is not usable (its message says which row and why)."""


@dataclass
class SimPlace:
    id: str
    lat: float | None
    lon: float | None
    kind: str = "home"
    language: str = "ja"
    quiet: bool = False
    threshold: str | None = None
    codes: dict[str, str | None] = field(default_factory=dict)
    explicit_codes: bool = False


def read_places(stream: TextIO) -> list[SimPlace]:
    reader = csv.DictReader(stream)
    if not reader.fieldnames or not {"id", "lat", "lon"} <= {f.strip() for f in reader.fieldnames}:
        raise PlacesError("PLACES.csv needs a header with id,lat,lon")
    out: list[SimPlace] = []
    for n, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        if not row.get("id"):
            raise PlacesError(f"line {n}: id is empty")

        def num(key: str) -> float | None:
            if not row.get(key):
                return None
            try:
                return float(row[key])
            except ValueError:
                raise PlacesError(f"line {n}: {key} {row[key]!r} is not a number") from None

        kind = row.get("kind") or "home"
        if kind not in KINDS:
            raise PlacesError(f"line {n}: kind {kind!r} is not one of {', '.join(KINDS)}")
        threshold = None
        if row.get("threshold"):
            threshold = normalize_intensity(row["threshold"])
            if threshold is None:
                raise PlacesError(f"line {n}: threshold {row['threshold']!r} is not a seismic intensity")
        codes = {col: row.get(key) or None for key, col in CODE_COLUMNS.items()}
        explicit = any(codes.values())
        lat, lon = num("lat"), num("lon")
        if not explicit and (lat is None or lon is None):
            raise PlacesError(f"line {n}: lat and lon are needed when no area code is given")
        out.append(SimPlace(row["id"], lat, lon, kind, row.get("language") or "ja", row.get("quiet") in ("1", "true", "yes"),
                            threshold, codes, explicit))
    return out


def _geocode(places: Sequence[SimPlace]) -> None:
    from geo.areas.loader import geocoder_from_fixture

    pending = [p for p in places if not p.explicit_codes]
    if not pending:
        return
    geocoder = geocoder_from_fixture()
    for p in pending:
        found = geocoder.locate(p.lat, p.lon)
        if found is not None:
            p.codes = {k: v for k, v in found.as_dict().items() if k.endswith("_code")}


async def add_residents(sm: async_sessionmaker[AsyncSession], places: Sequence[SimPlace]) -> dict[int, SimPlace]:
    """One resident per place, with one device in the place's language; resident id → place."""
    _geocode(places)
    out: dict[int, SimPlace] = {}
    async with sm() as s, s.begin():
        for p in places:
            prefs: dict[str, Any] = {}
            if p.quiet:
                prefs["quiet_hours"] = ALL_DAY
            if p.threshold:
                prefs["seismic_min_intensity"] = p.threshold
            rid = await residents_repo.insert_resident(s, p.language, orjson.dumps(prefs).decode())
            did = await residents_repo.insert_android_device(
                s, rid, push_token=f"simulate-{os.urandom(12).hex()}", language=p.language, token_hash=os.urandom(32),
            )
            await places_repo.insert_seeded_place(
                s, rid, did if p.kind == "current" else None, p.kind, None, p.lat or 0.0, p.lon or 0.0, p.codes,
                expires_at=datetime.now(UTC) + timedelta(days=1) if p.kind == "current" else None,
            )
            out[rid] = p
    return out


def _outcome(doc: str, payload: dict, place: SimPlace, ctx: Any, d: Any, ex: Any, pushes: list[dict]) -> dict[str, Any]:
    if pushes:
        title, body = pushes[0]["title"], pushes[0]["body"]
    else:  # held (or an end held by quiet hours): what it would have said
        msg = ctx.would_say(place.language, d, ex)
        title, body = msg.title, msg.body
    facts = ex.facts if ex is not None else None
    ending = d.action in ("cleared", "cancelled")
    return {
        "doc": doc,
        "place": place.id,
        # Anything recorded but not pushed because of quiet hours is a hold (a held lowering too).
        "action": "hold" if d.held else ACTIONS[d.action],
        "category": ctx.category,
        "product": product_of(payload).family,
        "level": 0 if ending or ex is None else ex.level,
        "life_critical": bool(ex is not None and not ending and ex.life_critical),
        "critical": any(p["critical"] for p in pushes),
        "intensity": ex.intensity if ex is not None and not ending else None,
        "intensity_unreceived": bool(ex is not None and not ending and ex.intensity_unreceived),
        "tsunami_grade": facts.tsunami_grade if facts is not None and not ending else None,
        "language": place.language,
        "title": title,
        "body": body,
    }


async def run_documents(
    sm: async_sessionmaker[AsyncSession],
    redis: Any,
    residents: dict[int, SimPlace],
    docs: Sequence[str],
    emit: Callable[[dict[str, Any]], None],
) -> int:
    """Feed ``docs`` (paths) in order through the real path; emit outcomes; returns their count."""
    from alerts.delivery.service import fan_out
    from alerts.events.service import InvalidAlert, ingest
    from alerts.sources import parse_document

    count = 0
    for doc in docs:
        try:
            alerts = parse_document(Path(doc).read_bytes(), file=doc)
        except Exception as exc:  # a bad document is reported and skipped; the rest go through
            emit({"doc": doc, "error": str(exc) or type(exc).__name__})
            continue
        for alert in alerts:
            payload = alert.to_dict()
            try:
                async with sm() as s, s.begin():
                    res = await ingest(s, alert)
            except InvalidAlert as exc:
                emit({"doc": doc, "error": str(exc)})
                continue
            if not res.created:
                continue  # a document stored before changes nothing (as on the live path)
            now = datetime.fromisoformat(str(payload["issued_at"]))
            seen: list[dict[str, Any]] = []

            def observe(ctx, rid, d, ex, pushes, _payload=payload, _seen=seen):
                place = residents.get(rid)
                if place is not None and d.action in ACTIONS:
                    _seen.append(_outcome(doc, _payload, place, ctx, d, ex, pushes))

            await fan_out(sm, redis, res.alert_id, now=now, observer=observe)
            order = {p.id: i for i, p in enumerate(residents.values())}
            for line in sorted(seen, key=lambda o: order.get(o["place"], 0)):
                emit(line)
                count += 1
    return count


def _scratch_url(base: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(base).set(database=f"bousai_simulate_{os.getpid()}").render_as_string(hide_password=False)


async def _main(places: list[SimPlace], docs: list[str], out: TextIO, database_url: str, redis_url: str) -> int:
    import redis.asyncio as aioredis

    from server.dbsetup import create_database, drop_database, upgrade

    await asyncio.to_thread(create_database, database_url, drop=True)
    try:
        await asyncio.to_thread(upgrade, database_url)
        engine = create_async_engine(database_url, pool_size=3)
        redis = aioredis.from_url(redis_url)
        prefix = f"simulate:{os.getpid()}:"
        try:
            sm = async_sessionmaker(engine, expire_on_commit=False)
            residents = await add_residents(sm, places)

            def emit(line: dict[str, Any]) -> None:
                out.write(orjson.dumps(line).decode() + "\n")

            n = await run_documents(sm, _PrefixedRedis(redis, prefix), residents, docs, emit)
            emit({"simulate": {"documents": len(docs), "places": len(places), "outcomes": n}})
        finally:
            keys = [k async for k in redis.scan_iter(match=prefix + "*")]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()
            await engine.dispose()
    finally:
        await asyncio.to_thread(drop_database, database_url)
    return 0


class _PrefixedRedis:
    """The fan-out's stream writes, kept apart from a running service's streams (no worker
    of ``make run`` ever sends a simulated push)."""

    def __init__(self, redis: Any, prefix: str):
        self._redis, self._prefix = redis, prefix

    async def xadd(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return await self._redis.xadd(self._prefix + name, *args, **kwargs)

    def pipeline(self, *args: Any, **kwargs: Any) -> Any:
        pipe = self._redis.pipeline(*args, **kwargs)
        xadd, prefix = pipe.xadd, self._prefix
        pipe.xadd = lambda name, *a, **k: xadd(prefix + name, *a, **k)
        return pipe

    def __getattr__(self, name: str) -> Any:
        return getattr(self._redis, name)


def cmd_simulate(args) -> int:
    from server.logging import configure_logging
    from server.settings import Settings

    configure_logging("WARNING", json=True)  # stdout is the JSON-lines contract; logs go to stderr
    try:
        with open(args.places, encoding="utf-8-sig", newline="") as f:
            places = read_places(f)
    except (OSError, PlacesError) as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return 2
    missing = [d for d in args.docs if not Path(d).is_file()]
    if missing:
        print(f"simulate: no such document: {', '.join(missing)}", file=sys.stderr)
        return 2
    settings = Settings()
    database_url = args.database_url or _scratch_url(settings.database_url)
    redis_url = args.redis_url or settings.redis_url
    return asyncio.run(_main(places, list(args.docs), sys.stdout, database_url, redis_url))


def register(sub) -> None:
    p = sub.add_parser(
        "simulate",
        help="feed documents in order through the real path for test residents; one JSON line per outcome",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--places", required=True, help="CSV: id,lat,lon[,kind,language,quiet,threshold,city,quake_area,tsunami_area,municipality]")
    p.add_argument("docs", nargs="+", metavar="DOC", help="JMA XML or CAP documents, in the order they arrive")
    p.add_argument("--database-url", help="a scratch database to create and drop (default: bousai_simulate_<pid> beside BOUSAI_DATABASE_URL)")
    p.add_argument("--redis-url", help="Redis for the fan-out's streams (keys prefixed and removed at the end)")
    p.set_defaults(func=cmd_simulate)
