"""Shelter logic: nearest suitable shelters, registry import/export, staff status. Never commits."""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from geo.shelters import cache as area_cache
from geo.shelters import repository
from geo.shelters.models import HAZARDS
from geo.shelters.records import ShelterRecord, crowding_level, normalize_name
from server import readcache
from server.errors import AppError, NotFound

# The API caps a page at 50; the KNN pool is re-ranked by true distance (see repository.nearest).
MAX_LIMIT = 50
# 3x the page is ample for the planar/geodesic mismatch at Fukushima's latitude (≤ 1.3x).
KNN_POOL_FACTOR = 3
KNN_POOL_MIN = 30
# A CSV row with a new id but the same name within this distance is the row we already have
# (e.g. a municipality's file over GSI data): update it instead of listing the place twice.
IMPORT_MATCH_RADIUS_M = 50.0
# Nearest-shelter answers come from per-area candidates (geo.shelters.cache) kept per api
# process under the ``shelters`` generation (server.readcache), which every shelter write
# bumps after it commits: an opened, closed or fuller shelter is seen by the next request.


def present(row: dict, *, hazard: str | None = None) -> dict:
    """A repository row as the API shows it."""
    out = dict(row)
    out["hazards"] = list(row.get("hazards") or [])
    out["crowding"] = crowding_level(row.get("occupancy"), row.get("capacity"))
    # More people than the designated capacity: during a disaster they are there and are
    # counted (never refused), but an operator must see it at a glance (crowding is "full").
    occ, cap = row.get("occupancy"), row.get("capacity")
    out["over_capacity"] = occ is not None and cap is not None and cap > 0 and occ > cap
    out["suitable_for"] = None if hazard is None else hazard in out["hazards"]
    if out.get("distance_m") is not None:
        out["distance_m"] = round(float(out["distance_m"]), 1)
    return out


def _check_point(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise AppError("lat must be in -90..90 and lon in -180..180", code="invalid_point", detail={"lat": lat, "lon": lon})


async def nearest(
    session: AsyncSession,
    *,
    lat: float,
    lon: float,
    hazard: str | None = None,
    is_open: bool | None = None,
    available: bool = False,
    limit: int = 10,
) -> list[dict]:
    _check_point(lat, lon)
    if hazard is not None and hazard not in HAZARDS:
        raise AppError(f"unknown hazard {hazard!r}; one of: {', '.join(HAZARDS)}", code="unknown_hazard")
    if not 1 <= limit <= MAX_LIMIT:
        raise AppError(f"limit must be 1..{MAX_LIMIT}", code="invalid_limit")
    gen = None if readcache.touched(session, repository.NAMESPACE) else await readcache.generation(repository.NAMESPACE)
    if gen is None or not area_cache.covers(lat, lon):
        # Redis silent, this transaction changed shelters itself, or near a pole or the
        # antimeridian (cells do not wrap): the database.
        return await _nearest_sql(session, lat=lat, lon=lon, hazard=hazard, is_open=is_open, available=available,
                                  limit=limit)
    return await _nearest_cached(gen, lambda: area_cache.load_snapshot(session, repository.COLUMNS), lat=lat, lon=lon,
                                 hazard=hazard, is_open=is_open, available=available, limit=limit)


async def nearest_cached(
    sessionmaker: Any, *, lat: float, lon: float, hazard: str | None, is_open: bool | None, available: bool, limit: int,
) -> list[dict] | None:
    """``nearest`` from the per-area candidates only, outside any request session (the GET
    fast path; arguments already checked): a session of its own reads the registry's snapshot
    when this process has none for the current generation. None when the cache cannot answer
    (Redis silent, near a pole or the antimeridian): then ask ``nearest``."""
    gen = await readcache.generation(repository.NAMESPACE)
    if gen is None or not area_cache.covers(lat, lon):
        return None

    async def load() -> area_cache.Snapshot:
        async with sessionmaker() as session:
            return await area_cache.load_snapshot(session, repository.COLUMNS)

    return await _nearest_cached(gen, load, lat=lat, lon=lon, hazard=hazard, is_open=is_open, available=available,
                                 limit=limit)


async def _nearest_cached(
    gen: int, load_snapshot: Callable[[], Awaitable[area_cache.Snapshot]], *, lat: float, lon: float,
    hazard: str | None, is_open: bool | None, available: bool, limit: int,
) -> list[dict]:
    cell = area_cache.cell_of(lat, lon)
    key = (cell, hazard, is_open, available, limit)
    area = area_cache.AREAS.get(key, gen)
    if area is None:
        snap = area_cache.SNAPSHOTS.get("all", gen)
        if snap is None:
            snap = await load_snapshot()
            area_cache.SNAPSHOTS.put("all", gen, snap)
        area = area_cache.build_area(snap, cell, limit=limit, hazard=hazard, is_open=is_open, available=available,
                                     present=lambda r: present(r, hazard=hazard))
        area_cache.AREAS.put(key, gen, area)
    return area.nearest(lat, lon, limit)


async def _nearest_sql(
    session: AsyncSession, *, lat: float, lon: float, hazard: str | None, is_open: bool | None, available: bool,
    limit: int,
) -> list[dict]:
    rows = await repository.nearest(
        session,
        lat=lat,
        lon=lon,
        limit=limit,
        pool=max(limit * KNN_POOL_FACTOR, KNN_POOL_MIN),
        hazard=hazard,
        is_open=is_open,
        available=available,
    )
    return [present(r, hazard=hazard) for r in rows]


async def get(session: AsyncSession, shelter_id: str) -> dict:
    row = await repository.get(session, shelter_id)
    if row is None:
        raise NotFound(f"no shelter {shelter_id!r}")
    return present(row)


# Records per statement in an import: 20,000 rows go in about 20 batched upserts and lookups
# instead of 40,000 round trips (one lookup and one upsert per row took minutes).
IMPORT_BATCH = 1000


@dataclass
class ImportResult:
    inserted: int = 0
    updated: int = 0
    matched_existing: list[tuple[str, str]] = field(default_factory=list)  # (incoming id, existing id)
    # (line or id, reason) of rows the database refused; the rest went in.
    failed: list[tuple[int | str, str]] = field(default_factory=list)


async def import_records(session: AsyncSession, records: Sequence[ShelterRecord],
                         lines: Sequence[int] | None = None) -> ImportResult:
    """Upsert parsed records, ``IMPORT_BATCH`` at a time. A record whose id is new but which
    names a shelter we already hold (same municipality, same normalized name, within 50 m)
    updates that shelter; two records landing on the same shelter: the later one wins.

    The reader refuses what the database would, so nothing should fail here; if a batch still
    does, it is retried row by row (each in a savepoint) and the refused rows are reported by
    ``lines`` (their line in the file) or id, while the others go in."""
    result = ImportResult()
    for i in range(0, len(records), IMPORT_BATCH):
        batch = list(records[i:i + IMPORT_BATCH])
        labels = list(lines[i:i + IMPORT_BATCH]) if lines is not None else [r.id for r in batch]
        try:
            async with session.begin_nested():
                done = await _import_batch(session, batch)
        except DBAPIError:
            for r, label in zip(batch, labels, strict=True):
                try:
                    async with session.begin_nested():
                        one = await _import_batch(session, [r])
                except DBAPIError as exc:
                    # The driver's reason, never the row's values (they may be personal data).
                    reason = str(getattr(exc.orig, "args", [""])[0] or type(exc.orig).__name__).splitlines()[0][:200]
                    result.failed.append((label, f"refused by the database: {reason}"))
                    continue
                _add(result, one)
            continue
        _add(result, done)
    # A municipal row that landed on a shelter we already held (usually GSI's) keeps its own
    # number as an alias, so a CAP message using the municipality's numbering still finds it.
    aliases = []
    for incoming, existing in result.matched_existing:
        muni, sep, local = incoming.partition(":")
        if sep and re.fullmatch(r"[0-9]{6}", muni) and incoming != existing:
            aliases.append((muni, local, existing))
    await repository.add_aliases(session, aliases)
    return result


def _add(result: ImportResult, done: ImportResult) -> None:
    result.inserted += done.inserted
    result.updated += done.updated
    result.matched_existing += done.matched_existing


async def _import_batch(session: AsyncSession, batch: list[ShelterRecord]) -> ImportResult:
    done = ImportResult()
    known = await repository.existing_ids(session, (r.id for r in batch))
    new = [r for r in batch if r.id not in known]
    near = await repository.candidates_near_many(
        session, [(r.municipality_code, r.lat, r.lon) for r in new], IMPORT_MATCH_RADIUS_M)
    moved: dict[int, str] = {}  # id(record) → the existing shelter it names
    for k, r in enumerate(new):
        for c in near.get(k, []):
            if normalize_name(c["name"]) == normalize_name(r.name):
                done.matched_existing.append((r.id, c["id"]))
                moved[id(r)] = c["id"]
                break
    final: dict[str, ShelterRecord] = {}
    for r in batch:
        if id(r) in moved:
            r = replace(r, id=moved[id(r)])
        final.pop(r.id, None)
        final[r.id] = r  # ON CONFLICT cannot touch one row twice in a statement: the later wins
    existing = known | await repository.existing_ids(session, [i for i in final if i not in known])
    done.updated = len([i for i in final if i in existing])
    done.inserted = len(final) - done.updated
    await repository.upsert_many(session, list(final.values()))
    return done


async def export_rows(session: AsyncSession, municipality_code: str | None = None) -> AsyncIterator[dict]:
    async for row in repository.stream_for_export(session, municipality_code):
        yield row


async def set_status(
    session: AsyncSession,
    shelter_id: str,
    *,
    is_open: bool | None = None,
    occupancy: int | None = None,
    capacity: int | None = None,
    pets_allowed: bool | None = None,
    accessible: bool | None = None,
) -> dict:
    """For the staff flows (open/close, occupancy). Scope checks are the caller's."""
    for name, v in (("occupancy", occupancy), ("capacity", capacity)):
        if v is not None and v < 0:
            raise AppError(f"{name} must be ≥ 0", code=f"invalid_{name}")
    row = await repository.set_status(
        session,
        shelter_id,
        is_open=is_open,
        occupancy=occupancy,
        capacity=capacity,
        pets_allowed=pets_allowed,
        accessible=accessible,
    )
    if row is None:
        raise NotFound(f"no shelter {shelter_id!r}")
    return present(row)


# GSI's 共通ID: "E" + 5-digit municipality code (no check digit) + running number + kind digits.
_GSI_COMMON_ID = re.compile(r"[EN][0-9]{12,14}")
# "072044-0001", "072044:0001", "072044_0001": a municipality code with its own number.
_MUNICIPAL_ID = re.compile(r"([0-9]{6})[-:_/](.+)")


async def resolve_refs(
    session: AsyncSession, refs: Sequence[str], municipality_codes: Sequence[str] = ()
) -> dict[str, str | None]:
    """Shelter references as other systems write them (a CAP ``bousai:shelter-id``) → registry id,
    or None when nothing matches. Tried in order: the registry id itself (``gsi:E0720400350112``,
    ``072044:0001``); a bare GSI 共通ID (``E0720400350112``); a municipality code with the
    municipality's own number (``072044-0001``: the row imported from its 自治体標準 CSV, else an
    alias); a bare number, read in each of ``municipality_codes`` (the message's area)."""
    candidates: dict[str, list[str]] = {}
    alias_keys: dict[str, list[tuple[str, str]]] = {}
    for ref in refs:
        v = unicodedata.normalize("NFKC", ref or "").strip()
        c: list[str] = [v] if v else []
        keys: list[tuple[str, str]] = []
        if _GSI_COMMON_ID.fullmatch(v):
            c.append(f"gsi:{v}")
        m = _MUNICIPAL_ID.fullmatch(v)
        if m and not v.startswith("gsi:"):
            c.append(f"{m.group(1)}:{m.group(2)}")
            keys.append((m.group(1), m.group(2)))
        elif v and ":" not in v:
            for muni in municipality_codes:
                c.append(f"{muni}:{v}")
                keys.append((muni, v))
        candidates[ref] = c
        alias_keys[ref] = keys
    known = await repository.existing_ids(session, {x for c in candidates.values() for x in c})
    aliases = await repository.aliases_of(session, sorted({k for ks in alias_keys.values() for k in ks}))
    out: dict[str, str | None] = {}
    for ref in refs:
        hit = next((x for x in candidates[ref] if x in known), None)
        if hit is None:
            hit = next((aliases[k] for k in alias_keys[ref] if k in aliases), None)
        out[ref] = hit
    return out


# --- offline pack ----------------------------------------------------------------------

# Hazards as one integer per shelter, bit i = HAZARDS[i]: 2,600 shelters' lists in a few kB.
PACK_FORMAT = 1
PACK_FIELDS = ["id", "name", "municipality_code", "lat", "lon", "hazards", "flags", "capacity", "address"]
# flags: bit 0 指定緊急避難場所, 1 指定避難所, 2 pets allowed, 3 accessible.
PACK_FLAGS = {"emergency_site": 1, "evacuation_center": 2, "pets_allowed": 4, "accessible": 8}


def _hazard_bits(hazards: Sequence[str] | None) -> int:
    return sum(1 << i for i, h in enumerate(HAZARDS) if h in (hazards or ()))


async def offline_pack(session: AsyncSession, municipality_code: str | None) -> tuple[dict, str]:
    """The shelters the app keeps for offline search, and its version (a hash of the content:
    the same registry gives the same ETag on every API process, and any change gives a new one).
    Only what changes rarely is in it (position, hazards, capacity); live status is online."""
    if municipality_code is not None and not re.fullmatch(r"[0-9]{6}", municipality_code):
        raise AppError("municipality must be a 6-digit code", code="invalid_municipality")
    rows = []
    for (sid, name, muni, lat, lon, hazards, em, ev, capacity, pets, accessible, address) in await repository.pack_rows(
        session, municipality_code
    ):
        flags = (PACK_FLAGS["emergency_site"] if em else 0) | (PACK_FLAGS["evacuation_center"] if ev else 0) \
            | (PACK_FLAGS["pets_allowed"] if pets else 0) | (PACK_FLAGS["accessible"] if accessible else 0)
        rows.append([sid, name, muni, lat, lon, _hazard_bits(hazards), flags, capacity, address])
    if municipality_code is not None and not rows:
        raise NotFound(f"no shelters for municipality {municipality_code}")
    digest = hashlib.sha256(orjson.dumps(rows)).hexdigest()[:32]
    pack = {
        "format": PACK_FORMAT,
        "version": digest,
        "municipality_code": municipality_code,
        "hazards": list(HAZARDS),
        "flags": PACK_FLAGS,
        "fields": PACK_FIELDS,
        "count": len(rows),
        "shelters": rows,
    }
    return pack, digest
