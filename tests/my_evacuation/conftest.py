"""My Evacuation fixtures: residents with a home, shelters in the registry, a full plan."""

from __future__ import annotations

import copy

import pytest

from geo.shelters import repository as shelter_repo
from geo.shelters.records import ShelterRecord
from tests.kits.residents import FULL_PLAN, WATARI, tokens


@pytest.fixture
def add_shelters(app):
    async def add(*records: ShelterRecord, status: dict[str, dict] | None = None) -> None:
        async with app.state.sessionmaker() as s:
            await shelter_repo.upsert_many(s, list(records))
            for sid, st in (status or {}).items():
                await shelter_repo.set_status(s, sid, **st)
            await s.commit()

    return add


@pytest.fixture
def new_resident(client):
    """Register a device (a new resident); optionally a home place. Returns (headers, resident_id, home_place_id)."""

    async def make(language: str = "ja", home: tuple[float, float] | None = WATARI):
        r = await client.post("/v1/devices", json={"platform": "android", "language": language,
                                                   "fcm_token": f"tok-me-{next(tokens)}"})
        assert r.status_code == 201, r.text
        body = r.json()
        headers = {"Authorization": f"Bearer {body['token']}"}
        place_id = None
        if home is not None:
            p = await client.post("/v1/me/places", headers=headers, json={"kind": "home", "lat": home[0], "lon": home[1]})
            assert p.status_code == 201, p.text
            place_id = p.json()["id"]
        return headers, body["resident_id"], place_id

    return make


@pytest.fixture
def full_plan():
    return copy.deepcopy(FULL_PLAN)
