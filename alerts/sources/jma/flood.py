"""指定河川洪水予報 (VXKOxx, one type code per river): category ``flood``.

What a resident needs: which river section, which level (氾濫注意/警戒/危険/発生 =
警戒レベル2/3/4/5), and which municipalities are in the inundation area
(浸水想定地区: Body Warning items with 7-digit ``CityCode`` and a district list).

Areas: river sections (``kind: river_section``, from Head/Headline/Information
予報区域) carrying the warning and level, plus the municipalities of the 浸水想定地区
(``kind: city``, 7-digit JMA city code, ``districts`` text).
"""

from __future__ import annotations

from typing import Any

from ..normalized import NormalizedAlert
from .common import Head, children, nfkc, parse_level, text_of

# Kind code → level: 10 解除, 20 氾濫注意, 30 氾濫警戒, 40 氾濫危険, 50 氾濫発生
# (sub-codes 21/31/… are the same level with a different lead text).
LEVEL_BY_FIRST_DIGIT = {"2": 2, "3": 3, "4": 4, "5": 5}
SEVERITY_BY_LEVEL = {5: "Extreme", 4: "Severe", 3: "Severe", 2: "Moderate"}


def _kind_level(name: str | None, code: str | None) -> int | None:
    lvl = parse_level(name)
    if lvl is not None:
        return lvl
    n = nfkc(name)
    if "解除" in n:
        return None
    for word, v in (("氾濫発生", 5), ("氾濫危険", 4), ("氾濫警戒", 3), ("氾濫注意", 2)):
        if word in n:
            return v
    if code and code[:1] in LEVEL_BY_FIRST_DIGIT and len(code) == 2:
        return LEVEL_BY_FIRST_DIGIT[code[:1]]
    return None


def parse_flood(h: Head, file: str | None) -> NormalizedAlert:
    areas: list[dict[str, Any]] = []
    levels: list[int] = []
    if not h.is_cancel and h.headline_el is not None:
        for info in children(h.headline_el, "Information"):
            itype = info.get("type") or ""
            if "予報区域" not in itype:
                continue
            for item in children(info, "Item"):
                kinds = []
                for k in children(item, "Kind"):
                    name, code = text_of(k, "{*}Name"), text_of(k, "{*}Code")
                    lvl = _kind_level(name, code)
                    w: dict[str, Any] = {"name": name, "code": code, "status": text_of(k, "{*}Condition") or "発表"}
                    if lvl is not None:
                        w["level"] = lvl
                        levels.append(lvl)
                    kinds.append(w)
                for ars in children(item, "Areas"):
                    for a in children(ars, "Area"):
                        areas.append({"code": text_of(a, "{*}Code"), "name": text_of(a, "{*}Name"),
                                      "kind": "river_section", "warnings": kinds})
    seen_cities: dict[str, dict[str, Any]] = {}
    body = h.body
    if body is not None and not h.is_cancel:
        for warning in children(body, "Warning"):
            for item in children(warning, "Item"):
                for ars in children(item, "Areas"):
                    for a in children(ars, "Area"):
                        city_code = text_of(a, "{*}CityCode")
                        if not city_code:
                            continue
                        entry = seen_cities.get(city_code)
                        if entry is None:
                            entry = {"code": city_code, "name": text_of(a, "{*}City"), "kind": "city",
                                     "pref_name": text_of(a, "{*}Prefecture"), "districts": []}
                            seen_cities[city_code] = entry
                            areas.append(entry)
                        sub = text_of(a, "{*}SubCityList")
                        if sub and sub != "-" and sub not in entry["districts"]:
                            entry["districts"].append(sub)
    level = max(levels) if levels else None
    severity = SEVERITY_BY_LEVEL.get(level or 0, "Minor")
    alert = h.new_alert(file=file, category="flood", severity=severity)
    alert.areas = areas
    alert.level = level if not h.is_cancel else None
    if body is not None and not h.is_cancel:
        texts = [text_of(p, "{*}Text") for p in body.iter("{*}Property") if text_of(p, "{*}Type") == "主文"]
        texts = [t for t in texts if t]
        if texts:
            alert.text = "\n".join([t for t in [alert.text] if t] + texts)
    return alert
