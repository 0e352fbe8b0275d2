"""Targeting fixtures: places written with the app's own geocoder, alerts ingested from real documents."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from alerts.events.service import ingest
from alerts.sources import parse_document
from alerts.targeting.service import iter_matches, resident_matches, resident_places, targets_of
from my_evacuation.places.repository import CODE_COLUMNS, code_params
from tests.kits.targeting import geocoder, point_in


class World:
    """Residents, devices and places written straight into the tables of one test transaction."""

    def __init__(self, session):
        self.session = session

    async def resident(self) -> int:
        return (await self.session.execute(text("INSERT INTO residents (language) VALUES ('ja') RETURNING id"))).scalar_one()

    async def device(self, resident_id: int) -> int:
        return (
            await self.session.execute(
                text(
                    "INSERT INTO devices (resident_id, platform, language, token_hash) "
                    "VALUES (:r, 'android', 'ja', sha256((random()::text || clock_timestamp()::text)::bytea)) RETURNING id"
                ),
                {"r": resident_id},
            )
        ).scalar_one()

    async def place(
        self, resident_id: int, kind: str, lat: float, lon: float, *, device_id: int | None = None,
        expires_at: datetime | None = None,
    ) -> int:
        codes = geocoder().locate(lat, lon)
        cols = ", ".join(CODE_COLUMNS)
        vals = ", ".join(f":{c}" for c in CODE_COLUMNS)
        return (
            await self.session.execute(
                text(
                    f"INSERT INTO places (resident_id, device_id, kind, geom, expires_at, {cols}) "
                    f"VALUES (:r, :d, :k, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :e, {vals}) RETURNING id"
                ),
                {"r": resident_id, "d": device_id, "k": kind, "lat": lat, "lon": lon, "e": expires_at,
                 **code_params(codes)},
            )
        ).scalar_one()

    async def home_in(self, jma_city_code: str, kind: str = "home") -> tuple[int, int]:
        r = await self.resident()
        return r, await self.place(r, kind, *point_in(jma_city_code))

    async def current_in(self, jma_city_code: str, *, expired: bool = False) -> tuple[int, int, int]:
        r = await self.resident()
        d = await self.device(r)
        ttl = timedelta(hours=-1 if expired else 1)
        pid = await self.place(r, "current", *point_in(jma_city_code), device_id=d,
                               expires_at=datetime.now(timezone.utc) + ttl)
        return r, d, pid

    async def ingest_file(self, path) -> int:
        alerts = parse_document(path.read_bytes(), str(path))
        assert len(alerts) == 1
        return (await ingest(self.session, alerts[0])).alert_id

    async def ingest_dict(self, alert: dict) -> int:
        return (await ingest(self.session, alert)).alert_id

    async def matches(self, alert_id: int, chunk_size: int = 5000) -> list:
        conn = await self.session.connection()
        out = []
        async for chunk in iter_matches(conn, alert_id, chunk_size=chunk_size):
            out.append(chunk)
        await self._same_for_each_resident(alert_id, [m for c in out for m in c])
        return out

    async def _same_for_each_resident(self, alert_id: int, fan_out: list) -> None:
        """The pull's per-resident matching (resident_matches) must agree with the fan-out's
        for every resident: same places, same area codes."""
        raw = (await (await self.session.connection()).get_raw_connection()).driver_connection
        alert = (await self.session.execute(text("SELECT id, received_at FROM alerts WHERE id = :a"), {"a": alert_id})).mappings().all()
        targets = await targets_of(raw, alert)
        for rid in (await self.session.execute(text("SELECT id FROM residents"))).scalars():
            got = (await resident_matches(raw, rid, targets, await resident_places(raw, rid))).get(alert_id, [])
            want = sorted((m for m in fan_out if m.resident_id == rid), key=lambda m: m.place_id)
            assert [tuple(m)[:5] for m in sorted(got, key=lambda m: m.place_id)] == want, (rid, got, want)


@pytest.fixture
async def world(session):
    return World(session)
