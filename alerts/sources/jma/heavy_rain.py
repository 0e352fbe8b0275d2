"""記録的短時間大雨情報 (VPOA50): the towns where the record rain fell.

The document's areas are its 発表細分 (a whole 府県予報区 such as 福島県 070000, or a
一次細分 in Hokkaido, Okinawa, 鹿児島): targeting them would tell a resident of 南会津 about a
cloudburst over いわき. The towns themselves are named only in the headline, one line per
observation or analysis:

    １９時４０分北海道で記録的短時間大雨
    札幌市中央区付近で約１００ミリ
    小樽市付近で約９０ミリ

Each such line whose place starts with a municipality of the project's area data (looked up
only within the prefectures of the document's 発表細分, see ``geo.areas.names``) becomes a
``jma_city`` area with the product in force there, its rain (``rain_mm``) and the line
(``observed``); the 発表細分 areas then go to ``coarse_areas``. A town that cannot be resolved
(another prefecture, an unknown spelling) leaves the 発表細分 areas in ``areas``: the
document's own area is the next best target, never nobody.
"""

from __future__ import annotations

import re
from typing import Any

from .common import Head, nfkc

PRODUCT = "記録的短時間大雨情報"
# 「札幌市中央区付近で約１００ミリ」, 「大阪市中央区で１３０ミリ」 (after NFKC: ASCII digits).
_LINE = re.compile(r"^\s*(?P<place>\S+?)(?:付近)?で(?:約)?(?P<mm>\d+)ミリ")
_PLACES_SEP = re.compile(r"[・、,]")


def town_areas(h: Head, issue_areas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The towns the headline names, as ``jma_city`` areas (see the module docstring); [] when
    none resolves."""
    from geo.areas.names import city_code_of_place  # the area fixture, read on first use

    prefs = {str(a.get("code") or "")[:2] for a in issue_areas if a.get("code")}
    if not prefs or not h.headline_text:
        return []
    active = [a for a in issue_areas if a.get("in_force")]
    towns: dict[str, dict[str, Any]] = {}
    for line in h.headline_text.splitlines():
        m = _LINE.match(nfkc(line))
        if not m:
            continue
        mm = int(m.group("mm"))
        for place in _PLACES_SEP.split(m.group("place")):  # 「郡山市・須賀川市付近で」
            found = city_code_of_place(place, prefs)
            if found is None:
                return []  # one town we cannot place: keep the whole 発表細分 rather than miss it
            code, name = found
            t = towns.get(code)
            if t is None:
                t = towns[code] = {
                    "code": code,
                    "name": name,
                    "kind": "jma_city",
                    "level": "city",
                    "warnings": [{"name": PRODUCT, "code": "1", "status": "発表"}],
                    "rain_mm": mm,
                    "observed": [],
                }
                if len(active) == 1:
                    t["issue_area_code"] = active[0].get("code")
            t["rain_mm"] = max(t["rain_mm"], mm)
            t["observed"].append(line.strip())
    return list(towns.values())
