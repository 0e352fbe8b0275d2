"""Municipality names → JMA city codes, for documents that name towns only in their text
(記録的短時間大雨情報: 「郡山市付近で約１２０ミリ」).

Read from the shipped area fixture (no database: ``bousai parse`` uses it too). A
municipality's name gives its whole-municipality code ``XXXXX00`` (郡山市 → 0720300, which
targets both 郡山市 0720301 and 郡山市湖南 0720302); the name of a split area that is not
its municipality's (郡山市湖南) gives that area's own code.
"""

from __future__ import annotations

from functools import lru_cache

from geo.areas.loader import AREAS_FIXTURE, read_fixture


@lru_cache(maxsize=1)
def _names() -> tuple[tuple[str, str, str], ...]:
    """(name, JMA city code, its official name) for every municipality and split area, longest
    name first."""
    data = read_fixture(AREAS_FIXTURE)
    out: dict[str, tuple[str, str]] = {}
    munis = {m["code"]: m["name"] for m in data["municipalities"]}
    for c in data["jma_cities"]:
        whole = c["code"][:5] + "00"
        muni_name = munis.get(c["municipality_code"]) or c["name"]
        out.setdefault(muni_name, (whole, muni_name))
        if c["name"] != muni_name:
            out.setdefault(c["name"], (c["code"], c["name"]))
    return tuple(sorted(((n, code, official) for n, (code, official) in out.items()), key=lambda t: -len(t[0])))


def city_code_of_place(place: str, pref_codes: set[str] | None = None) -> tuple[str, str] | None:
    """(JMA city code, name) of the municipality a place name starts with (``郡山市湖南町``,
    ``いわき市小名浜``), or None. ``pref_codes``: 2-digit prefectures the document is about
    (a name is only looked up among them: 伊達市 is in 福島県 and in 北海道). JMA's seismic
    spelling with the prefecture in front (福島伊達市) is understood too."""
    place = (place or "").strip()
    if not place:
        return None
    for candidate in (place, place.removeprefix("福島") if place.startswith("福島") else None):
        if not candidate:
            continue
        for name, code, official in _names():
            if pref_codes is not None and code[:2] not in pref_codes:
                continue
            if candidate.startswith(name):
                return code, official
    return None
