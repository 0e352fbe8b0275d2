"""Shelter test helpers: committed shelters for API tests (the ``app`` fixture truncates after)."""

from __future__ import annotations

import pytest

from geo.shelters import repository
from geo.shelters.records import ShelterRecord


def shelter(id: str, lat: float, lon: float, *, hazards=("earthquake",), name=None, code="072010", **kw) -> ShelterRecord:
    return ShelterRecord(
        id=id,
        name=name or id,
        municipality_code=code,
        lat=lat,
        lon=lon,
        source="csv",
        is_emergency_site=bool(hazards),
        is_evacuation_center=kw.pop("is_evacuation_center", False),
        hazards=list(hazards),
        **kw,
    )


@pytest.fixture
def add_shelters(app):
    """Commit shelters (and optional status) through the app's own sessionmaker."""

    async def add(*records: ShelterRecord, status: dict[str, dict] | None = None) -> None:
        async with app.state.sessionmaker() as s:
            await repository.upsert_many(s, list(records))
            for sid, st in (status or {}).items():
                await repository.set_status(s, sid, **st)
            await s.commit()

    return add
