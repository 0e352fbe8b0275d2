"""The shipped shelter fixture: write (build script), read, and load into the database.

Format: gzip'd JSON lines, one facility per line, short keys (the app reads only this at
run time, never ../shared). Keys: id, name, kana, address, muni, lat, lon, elev, em, ev,
hazards, capacity, capacity_text, phone, url, districts, notes.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import AsyncSession

from geo.shelters import repository
from geo.shelters.records import ShelterRecord
from server.db import sync_url
from server.resources import fixtures_dir

SHELTERS_FIXTURE = fixtures_dir() / "shelters" / "fukushima_shelters.jsonl.gz"

# Rows per executemany round trip: large enough to amortise latency, small enough to report progress.
LOAD_BATCH = 500

_KEYS = {
    "id": "id",
    "name": "name",
    "kana": "name_kana",
    "address": "address",
    "muni": "municipality_code",
    "lat": "lat",
    "lon": "lon",
    "elev": "elevation_m",
    "em": "is_emergency_site",
    "ev": "is_evacuation_center",
    "hazards": "hazards",
    "capacity": "capacity",
    "capacity_text": "capacity_text",
    "phone": "phone",
    "url": "url",
    "districts": "districts",
    "notes": "notes",
}


def write_fixture(records: list[ShelterRecord], path: Path = SHELTERS_FIXTURE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    # mtime=0 and sorted lines: rebuilding from the same reference gives the same bytes.
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as gz:
        for r in sorted(records, key=lambda r: r.id):
            d = r.as_dict()
            line = {k: d[attr] for k, attr in _KEYS.items() if d[attr] not in (None, "", [])}
            line["em"] = bool(d["is_emergency_site"])
            line["ev"] = bool(d["is_evacuation_center"])
            line["hazards"] = d["hazards"] or []
            gz.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
    path.write_bytes(buf.getvalue())


def read_fixture(path: Path = SHELTERS_FIXTURE) -> list[ShelterRecord]:
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            d = json.loads(line)
            out.append(ShelterRecord(source="gsi", **{attr: d.get(k) for k, attr in _KEYS.items()}))
    return out


def _progress(done: int, total: int, quiet: bool) -> None:
    if not quiet:
        print(f"shelters: {done:,}/{total:,} loaded", flush=True)


def load_shelters_sync(database_url: str, quiet: bool = False, path: Path = SHELTERS_FIXTURE) -> int:
    """Upsert the fixture through psycopg (bulk, for ``bousai setup``). Idempotent; status kept."""
    records = read_fixture(path)
    engine = create_engine(sync_url(database_url))
    try:
        with engine.begin() as conn:
            for i in range(0, len(records), LOAD_BATCH):
                batch = records[i : i + LOAD_BATCH]
                conn.execute(repository.UPSERT_SQL, [repository.record_params(r) for r in batch])
                _progress(i + len(batch), len(records), quiet)
    finally:
        engine.dispose()
    return len(records)


async def load_shelters_fixture(session_or_url: AsyncSession | str, quiet: bool = False, path: Path = SHELTERS_FIXTURE) -> int:
    """Upsert the fixture. With a URL it runs the sync bulk load in a thread (and commits);
    with a session it only executes (the caller commits, as services never do)."""
    if isinstance(session_or_url, str):
        import asyncio

        return await asyncio.to_thread(load_shelters_sync, session_or_url, quiet, path)
    records = read_fixture(path)
    for i in range(0, len(records), LOAD_BATCH):
        batch = records[i : i + LOAD_BATCH]
        await repository.upsert_many(session_or_url, batch)
        _progress(i + len(batch), len(records), quiet)
    return len(records)
