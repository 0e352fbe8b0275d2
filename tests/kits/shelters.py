"""Shelter records for the registry tests."""

from __future__ import annotations

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
