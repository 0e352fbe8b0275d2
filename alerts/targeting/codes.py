"""Which ``places`` column an alert area code targets.

Area codes are ambiguous across kinds (``250`` is 福島県中通り as an earthquake area and
福島県 as a tsunami forecast area), so the column is chosen by the alert's source and
category, the area entry's kind, and the code's length:

=====================  ==========================  =========================================
source / category      code                        places column
=====================  ==========================  =========================================
JMA earthquake, eew    3 digits (地震情報細分区域)   ``quake_area_code``
JMA tsunami            3 digits (津波予報区)         ``tsunami_area_code``
JMA, any category      7 digits ``XXXXX00``         every ``jma_city_code`` starting ``XXXXX``
                       (a whole municipality: VXSE  (one municipality, whether or not the
                       city intensities, 指定河川    forecast splits it: 郡山市 0720300 covers
                       洪水予報 municipalities       0720301 郡山市 and 0720302 郡山市湖南)
                       named whole, 記録的短時間
                       大雨 towns, volcano cities)
JMA, any category      7 digits, other (0720301)    ``jma_city_code`` exactly
JMA, any category      6 digits (070011, 070010,    ``jma_matome_code``, ``jma_first_code`` or
                       070000)                      ``jma_pref_code`` (JMA codes are unique
                                                    across these levels, so all three are
                                                    compared: no guessing from digits)
JMA, any category      kind ``river_section`` or    nothing: a 予報区域 is a stretch of river,
                       ``flood_district``           and a 浸水想定地区 is a district, not its
                                                    whole municipality (the forecast's
                                                    ``city`` entries name the municipalities)
CAP (JIS X 0402)       6 digits ``XX000C``          every ``municipality_code`` of prefecture
                       (prefecture, e.g. 070009)    ``XX``
CAP (JIS X 0402)       6 digits, other (072044)     ``municipality_code`` exactly
=====================  ==========================  =========================================

Anything else (volcano codes, river sections, districts, foreign CAP geocodes) targets no place.
Areas whose warnings were lifted or whose tsunami grade is ``none`` still match: the
residents who were told must hear the all-clear, and delivery decides who gets what.

Polygons: an alert whose geometry was stored (``alerts.geom``) also matches every place
inside it (by the grid cover of ``geo.grid``), in union with the codes — except CAP alerts other than
shelter notices, where the polygon is the precise area (the CAP profile puts districts in a
polygon "when precision matters") and the JIS X 0402 code only names the municipality the
district lies in: a Level 4 order for 渡利地区 must not reach all of 福島市. A shelter
notice's circles mark the shelters, so its municipality code still decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Specificity: when a place matches several areas of one alert, the most specific area is
# reported (a city intensity before its earthquake area's).
PRIORITY = {
    "jma_city_code": 0,
    "municipality_code": 1,
    "quake_area_code": 2,
    "tsunami_area_code": 2,
    "jma_matome_code": 3,
    "jma_first_code": 4,
    "jma_pref_code": 5,
}
COLUMNS = tuple(PRIORITY)
SEISMIC_CATEGORIES = {"earthquake", "eew"}
# Area kinds that name no place column: a river section (指定河川洪水予報 予報区域) and a
# district of a municipality (浸水想定地区), whatever their code looks like.
NO_PLACE_KINDS = {"river_section", "flood_district"}


@dataclass(slots=True)
class CodeTargets:
    """Codes per places column: exact codes, and prefix ranges ``(lo, hi, area_code)``."""

    exact: dict[str, list[str]] = field(default_factory=dict)
    ranges: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)

    def add(self, column: str, code: str) -> None:
        codes = self.exact.setdefault(column, [])
        if code not in codes:
            codes.append(code)

    def add_prefix(self, column: str, prefix: str, width: int, area_code: str) -> None:
        lo, hi = prefix.ljust(width, "0"), prefix.ljust(width, "9")
        spans = self.ranges.setdefault(column, [])
        if (lo, hi, area_code) not in spans:
            spans.append((lo, hi, area_code))

    def __bool__(self) -> bool:
        return bool(self.exact or self.ranges)

    def may_hit(self, place: dict[str, Any]) -> bool:
        """Whether a place with these stored codes (column → code) is among the targets: a
        cheap test in Python that spares the database the alerts a place cannot match (the
        SQL of ``alerts.targeting.repository`` stays the judge)."""
        for column, codes in self.exact.items():
            if place.get(column) in codes:
                return True
        for column, spans in self.ranges.items():
            value = place.get(column)
            if value is not None and any(lo <= value <= hi for lo, hi, _ in spans):
                return True
        return False


def _jma_area(t: CodeTargets, category: str, kind: str, code: str) -> None:
    n = len(code)
    if n == 3:
        if category in SEISMIC_CATEGORIES or kind.startswith("seismic"):
            t.add("quake_area_code", code)
        elif category == "tsunami" or kind.startswith("tsunami"):
            t.add("tsunami_area_code", code)
    elif n == 7:
        if code.endswith("00"):
            t.add_prefix("jma_city_code", code[:5], 7, code)
        else:
            t.add("jma_city_code", code)
    elif n == 6:
        for column in ("jma_matome_code", "jma_first_code", "jma_pref_code"):
            t.add(column, code)


def _cap_area(t: CodeTargets, code: str) -> None:
    if len(code) != 6:
        return
    if code[2:5] == "000":  # a prefecture: 070009 福島県
        t.add_prefix("municipality_code", code[:2], 6, code)
    else:
        t.add("municipality_code", code)


def code_targets(source: str, category: str, areas: list[Any] | None) -> CodeTargets:
    """The places columns and codes an alert's areas target (see the module docstring)."""
    t = CodeTargets()
    for area in areas or []:
        if not isinstance(area, dict):
            continue
        code = str(area.get("code") or "").strip()
        if not code.isdigit() or not code.isascii() or area.get("kind") in NO_PLACE_KINDS:
            continue
        if source == "cap":
            _cap_area(t, code)
        else:
            _jma_area(t, category or "", str(area.get("kind") or ""), code)
    return t


def polygon_replaces_codes(source: str, category: str) -> bool:
    """True when a stored polygon is the alert's precise area and its codes must not widen it."""
    return source == "cap" and category != "shelter"
