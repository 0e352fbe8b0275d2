"""Points inside JMA city areas (geocoded with the app's own fixture) and matches by place."""

from __future__ import annotations

from functools import lru_cache

from alerts.targeting.service import Match
from geo.areas.loader import build_rows, geocoder_from_fixture, read_fixture


@lru_cache(maxsize=1)
def geocoder():
    return geocoder_from_fixture()


@lru_cache(maxsize=1)
def city_geoms() -> dict:
    return {r["code"]: r["geom"] for r in build_rows(read_fixture()) if r["kind"] == "jma_city"}


def point_in(jma_city_code: str) -> tuple[float, float]:
    """(lat, lon) of a point inside a JMA city area (geocodes back to it)."""
    p = city_geoms()[jma_city_code].representative_point()
    codes = geocoder().locate(p.y, p.x)
    assert codes is not None and codes.jma_city_code == jma_city_code
    return p.y, p.x


def flat(chunks) -> list[Match]:
    return [m for c in chunks for m in c]


def by_place(chunks) -> dict[int, Match]:
    out: dict[int, Match] = {}
    for m in flat(chunks):
        assert m.place_id not in out, f"place {m.place_id} matched twice"
        out[m.place_id] = m
    return out
