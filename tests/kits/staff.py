"""Helpers for staff tests: accounts made through the service (committed), tokens through the API."""

from __future__ import annotations

import itertools

from server.db import unit_of_work
from alerts.staff.schemas import AccountIn
from alerts.staff.service import create_account

PASSWORD = "correct horse battery staple"
FUKUSHIMA = "072010"  # 福島市
KORIYAMA = "072036"  # 郡山市
# Points well inside each (ST_PointOnSurface of the reference polygons).
FUKUSHIMA_POINT = (37.80029, 140.40152)  # lat, lon
KORIYAMA_POINT = (37.44432, 140.28398)

_seq = itertools.count(1)


async def make_account(app, role: str, municipality_code: str | None = None, *, username: str | None = None) -> int:
    username = username or f"{role}{next(_seq)}"
    async with unit_of_work(app.state.sessionmaker) as session:
        account = await create_account(
            session,
            None,
            AccountIn(username=username, display_name=username, password=PASSWORD, role=role,
                      municipality_code=municipality_code),
        )
        return account.id


async def login(client, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = await client.post("/v1/staff/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def staff_headers(app, client, role: str, municipality_code: str | None = None) -> dict[str, str]:
    username = f"{role}{next(_seq)}"
    await make_account(app, role, municipality_code, username=username)
    return await login(client, username)


def square(lat: float, lon: float, half_deg: float = 0.005) -> dict:
    """A GeoJSON square polygon around a point (~1 km across)."""
    return {
        "type": "Polygon",
        "coordinates": [[
            [lon - half_deg, lat - half_deg], [lon + half_deg, lat - half_deg], [lon + half_deg, lat + half_deg],
            [lon - half_deg, lat + half_deg], [lon - half_deg, lat - half_deg],
        ]],
    }
