"""Shelter test helpers: committed shelters for API tests (the ``app`` fixture truncates after)."""

from __future__ import annotations

import pytest

from geo.shelters import repository
from geo.shelters.records import ShelterRecord


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
