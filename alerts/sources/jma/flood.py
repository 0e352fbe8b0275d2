"""指定河川洪水予報 (VXKOxx, one type code per river): category ``flood``.

What a resident needs: which river section, which level (氾濫注意/警戒/危険/発生 =
警戒レベル2/3/4/5 相当; R08 names レベル２氾濫注意報 … レベル５氾濫特別警報), and whether
their municipality is among those the forecast names.

How JMA lays it out (samples 16_*_VXKOii.xml):

- Head/Headline/Information ``予報区域``: the river section(s) (12-digit 予報区域 code) with the
  section's kind (Code 10 解除, 2x 氾濫注意, 3x 氾濫警戒, 4x 氾濫危険, 5x 氾濫発生).
- Body/Warning/Item with Property ``主文``: one per 基準観測所 (its 受け持ち区間), the text led by
  ``【警戒レベルN相当】`` / ``【警戒レベルN】`` and the station under Stations/Station.
- Body/Warning/Item ``浸水想定地区``: per 基準観測所, one Area per municipality (``City`` with its
  7-digit ``CityCode``) and ``SubCityList``: the districts (地区) that may be flooded, or ``-``
  when the municipality is named without districts.

Areas emitted, each with the level of its own section (0 = lifted / not in force), so a
town gets its own stretch's level, never the document's highest:

- ``kind: river_section`` — each 予報区域 (12 digits; targets no place).
- ``kind: city`` — a municipality the forecast names as a whole for a station's section
  (``SubCityList`` ``-``), code = its JMA city code (``XXXXX00``: targets the whole
  municipality). One entry per municipality: the highest level of the sections naming it;
  ``stations`` lists them.
- ``kind: flood_district`` — a district (浸水想定地区) named for a station's section: name =
  the district, ``city_code`` / ``city_name`` its municipality, code = ``<city code>/<district>``
  (not a place code: a district targets no place — applying it to the whole municipality
  would tell every resident of the town about a flood of a few 地区). A municipality named
  only by districts therefore gets district entries and no ``city`` entry.

Each city or district entry carries ``level`` and ``warnings`` (one ``{name, code, status,
level}`` for its section: the kind name at that level, status 発表 or 解除), plus
``river_code`` / ``river_name`` and ``stations``. A station's level is that of its own 主文,
at least that of any 主文 for its river that names no station (an 氾濫発生 text), and the
section's level (Headline) when it has no 主文 of its own. ``level`` of the alert stays the
document's highest (unchanged contract).

:func:`inundation_areas` is the Body walk on its own: 水位周知河川に関する情報 (VXSU) has the
same 主文 / 浸水想定地区 layout and the same rules apply to it.
"""

from __future__ import annotations

import re
from typing import Any

from ..normalized import NormalizedAlert
from .common import Head, children, nfkc, parse_level, text_of

# Kind code → level: 10 解除, 20 氾濫注意, 30 氾濫警戒, 40 氾濫危険, 50 氾濫発生
# (sub-codes 21/31/41/… are the same level with a different lead text).
LEVEL_BY_FIRST_DIGIT = {"1": 0, "2": 2, "3": 3, "4": 4, "5": 5}
SEVERITY_BY_LEVEL = {5: "Extreme", 4: "Severe", 3: "Severe", 2: "Moderate"}
# The kind at each level, in the document's own naming (R08 names start with レベル).
KIND_NAMES = {2: "氾濫注意情報", 3: "氾濫警戒情報", 4: "氾濫危険情報", 5: "氾濫発生情報"}
KIND_NAMES_R08 = {2: "レベル２氾濫注意報", 3: "レベル３氾濫警報", 4: "レベル４氾濫危険警報", 5: "レベル５氾濫特別警報"}
# 主文 lead: 【警戒レベル４相当】 (2021–) or 【警戒レベル２】 (R08).
_LEAD = re.compile(r"^\s*【警戒レベル\s*([1-5])")
_DISTRICT_SEP = re.compile(r"[、，,\s]+")
NO_DISTRICTS = {"", "-", "－", "ー", "なし"}


def _kind_level(name: str | None, code: str | None) -> int | None:
    """Level of a Headline kind: 0 for 解除 (checked first: ``レベル２氾濫注意報解除`` is a lifting)."""
    n = nfkc(name)
    if "解除" in n or (code or "") == "10":
        return 0
    lvl = parse_level(name)
    if lvl is not None:
        return lvl
    for word, v in (("氾濫発生", 5), ("氾濫危険", 4), ("氾濫警戒", 3), ("氾濫注意", 2)):
        if word in n:
            return v
    if code and len(code) == 2 and code[:1] in LEVEL_BY_FIRST_DIGIT:
        return LEVEL_BY_FIRST_DIGIT[code[:1]]
    return None


def _sections(h: Head) -> tuple[list[dict[str, Any]], list[int]]:
    """River sections (Headline 予報区域) with their kinds, and every level announced."""
    areas: list[dict[str, Any]] = []
    levels: list[int] = []
    if h.headline_el is None:
        return areas, levels
    for info in children(h.headline_el, "Information"):
        if "予報区域" not in (info.get("type") or ""):
            continue
        for item in children(info, "Item"):
            kinds = []
            for k in children(item, "Kind"):
                name, code = text_of(k, "{*}Name"), text_of(k, "{*}Code")
                lvl = _kind_level(name, code)
                # status in the warnings vocabulary (発表 / 解除); JMA's own wording stays as condition.
                w: dict[str, Any] = {"name": name, "code": code, "status": "解除" if lvl == 0 else "発表"}
                cond = text_of(k, "{*}Condition")
                if cond:
                    w["condition"] = cond
                if lvl is not None:
                    w["level"] = lvl
                    levels.append(lvl)
                kinds.append(w)
            item_level = max((w["level"] for w in kinds if "level" in w), default=None)
            for ars in children(item, "Areas"):
                for a in children(ars, "Area"):
                    entry = {"code": text_of(a, "{*}Code"), "name": text_of(a, "{*}Name"),
                             "kind": "river_section", "warnings": kinds}
                    if item_level is not None:
                        entry["level"] = item_level
                    areas.append(entry)
    return areas, levels


def _station_key(station) -> tuple[str | None, str | None]:
    code_el = station.find("{*}Code")
    return (text_of(code_el) if code_el is not None else None, text_of(station, "{*}Name"))


def _main_text_levels(body) -> tuple[dict[tuple, int], dict[str, int], list[str]]:
    """Levels of the 主文 items: per station (code, name), per river code for texts naming no
    station, and the texts themselves."""
    per_station: dict[tuple, int] = {}
    per_river: dict[str, int] = {}
    texts: list[str] = []
    for warning in children(body, "Warning"):
        for item in children(warning, "Item"):
            kind = item.find("{*}Kind")
            for prop in children(kind, "Property"):
                if text_of(prop, "{*}Type") != "主文":
                    continue
                t = text_of(prop, "{*}Text")
                if not t:
                    continue
                texts.append(t)
                m = _LEAD.match(nfkc(t))
                if not m:
                    continue
                lvl = int(m.group(1))
                stations = [s for ss in children(item, "Stations") for s in children(ss, "Station")]
                if stations:
                    for s in stations:
                        key = _station_key(s)
                        per_station[key] = max(per_station.get(key, 0), lvl)
                else:
                    for ars in children(item, "Areas"):
                        for a in children(ars, "Area"):
                            river = text_of(a, "{*}Code") or ""
                            per_river[river] = max(per_river.get(river, 0), lvl)
    return per_station, per_river, texts


def _district_names(sub: str | None) -> list[str]:
    if nfkc(sub).strip() in NO_DISTRICTS:
        return []
    out: list[str] = []
    for d in _DISTRICT_SEP.split(sub or ""):
        d = d.strip()
        if d and d not in NO_DISTRICTS and d not in out:
            out.append(d)
    return out


def _kind_name(level: int, r08: bool) -> str:
    return (KIND_NAMES_R08 if r08 else KIND_NAMES)[level]


def inundation_areas(body, sections: list[dict[str, Any]], *, r08: bool = False) -> tuple[list[dict[str, Any]], list[str]]:
    """``city`` and ``flood_district`` areas of a river document's 浸水想定地区, each at its own
    station's level (see the module docstring), and the 主文 texts. ``sections``: the
    document's river sections (``code``, ``level``) from its Headline. The same Body layout
    serves 指定河川洪水予報 (VXKO) and 水位周知河川に関する情報 (VXSU)."""
    if body is None:
        return [], []
    levels = [s["level"] for s in sections if s.get("level") is not None]
    doc_level = max(levels) if levels else None
    lifted = doc_level == 0
    per_station, per_river, texts = _main_text_levels(body)
    by_code: dict[str, list[int]] = {}
    for (code, _name), lvl in per_station.items():
        by_code.setdefault(code or "", []).append(lvl)

    def section_level(station_code: str | None) -> int | None:
        """The Headline level of the section a station belongs to (by river code), else the
        document's: used for a station without a 主文 of its own."""
        river = (station_code or "")[:10]
        own = [s["level"] for s in sections if s.get("level") is not None and (s.get("code") or "")[:10] == river]
        return max(own) if own else doc_level

    def station_level(code: str | None, name: str | None) -> int | None:
        if lifted:
            return 0
        own = per_station.get((code, name))
        if own is None and len(by_code.get(code or "", [])) == 1:
            own = by_code[code or ""][0]  # same station, spelled differently
        floor = per_river.get((code or "")[:10])
        if own is None:
            own = section_level(code)
        vals = [v for v in (own, floor) if v is not None]
        return max(vals) if vals else None

    cities: dict[str, dict[str, Any]] = {}
    districts: dict[tuple[str, str], dict[str, Any]] = {}
    for warning in children(body, "Warning"):
        for item in children(warning, "Item"):
            kind = item.find("{*}Kind")
            if text_of(kind, "{*}Name") != "浸水想定地区":
                continue
            for ars in children(item, "Areas"):
                for a in children(ars, "Area"):
                    city_code = text_of(a, "{*}CityCode")
                    if not city_code:
                        continue
                    st_code, st_name = text_of(a, "{*}Code"), text_of(a, "{*}Name")
                    lvl = station_level(st_code, st_name)
                    city_name = text_of(a, "{*}City")
                    common = {"pref_name": text_of(a, "{*}Prefecture"), "river_code": (st_code or "")[:10] or None}
                    names = _district_names(text_of(a, "{*}SubCityList"))
                    for district in names or [None]:
                        if district is None:
                            entry = cities.get(city_code)
                            if entry is None:
                                entry = cities[city_code] = {"code": city_code, "name": city_name, "kind": "city",
                                                             **common, "stations": []}
                        else:
                            entry = districts.get((city_code, district))
                            if entry is None:
                                entry = districts[(city_code, district)] = {
                                    "code": f"{city_code}/{district}", "name": district, "kind": "flood_district",
                                    "city_code": city_code, "city_name": city_name, **common, "stations": []}
                        if st_name and st_name not in entry["stations"]:
                            entry["stations"].append(st_name)
                        if lvl is not None and lvl > entry.get("level", -1):
                            entry["level"] = lvl
    out = [*cities.values(), *districts.values()]
    for entry in out:
        lvl = entry.get("level")
        if lvl is None:
            entry["warnings"] = []
        elif lvl == 0:
            entry["warnings"] = [{"name": "解除", "code": "10", "status": "解除", "level": 0}]
        else:
            entry["warnings"] = [{"name": _kind_name(lvl, r08), "code": f"{lvl}0", "status": "発表", "level": lvl}]
    return out, texts


def parse_flood(h: Head, file: str | None) -> NormalizedAlert:
    sections, levels = ([], []) if h.is_cancel else _sections(h)
    doc_level = max(levels) if levels else None
    r08 = any(nfkc(w.get("name")).startswith("レベル") for s in sections for w in s["warnings"])
    towns, texts = ([], []) if h.is_cancel else inundation_areas(h.body, sections, r08=r08)
    alert = h.new_alert(file=file, category="flood", severity=SEVERITY_BY_LEVEL.get(doc_level or 0, "Minor"))
    alert.areas = [*sections, *towns]
    alert.level = doc_level if not h.is_cancel else None
    if texts:
        alert.text = "\n".join([t for t in [alert.text] if t] + texts)
    return alert
