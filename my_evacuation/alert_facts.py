"""Reading the normalized alert dict (the contract in docs/ARCHITECTURE.md) for what
my_evacuation needs: the hazard behind it, its 警戒レベル, the tsunami grade or seismic
intensity at a given area. Pure functions; my_evacuation never imports alerts."""

from __future__ import annotations

import re
from typing import Any

INTENSITY_RANK = {v: i + 1 for i, v in enumerate(("1", "2", "3", "4", "5-", "5+", "6-", "6+", "7"))}
TSUNAMI_GRADE_RANK = {"none": 0, "forecast": 1, "advisory": 2, "warning": 3, "major_warning": 4}

# Words in an evacuation notice that name its hazard, most specific first (内水 before 浸水).
_HAZARD_WORDS: tuple[tuple[str, str], ...] = (
    ("nuclear", r"原子力|原発|放射|nuclear|radiation"),
    ("tsunami", r"津波|tsunami"),
    ("storm_surge", r"高潮|storm surge"),
    ("landslide", r"土砂|がけ崩れ|崖崩れ|土石流|地すべり|landslide|mudslide"),
    ("inland_flood", r"内水"),
    ("flood", r"洪水|氾濫|はん濫|浸水|増水|水位|flood|river"),
    ("volcano", r"噴火|火山|volcan"),
    ("large_fire", r"大火|延焼|large fire"),
    ("earthquake", r"地震|earthquake"),
)
_CATEGORY_HAZARD = {"flood": "flood", "landslide": "landslide", "tsunami": "tsunami", "volcano": "volcano",
                    "earthquake": "earthquake", "eew": "earthquake"}


def _text_of(alert: dict[str, Any]) -> str:
    parts = [alert.get("headline"), alert.get("title"), alert.get("text")]
    for info in alert.get("infos") or []:
        parts += [info.get("headline"), info.get("event"), info.get("description"), info.get("instruction")]
    for area in alert.get("areas") or []:
        for w in area.get("warnings") or []:
            parts.append(w.get("name") if isinstance(w, dict) else str(w))
    return " ".join(p for p in parts if p)


def hazard_of(alert: dict[str, Any]) -> str | None:
    """The hazard in the shelter registry's vocabulary (plus 'nuclear'), or None if unclear."""
    if alert.get("hazard"):
        return str(alert["hazard"])
    cat = alert.get("category")
    if cat in _CATEGORY_HAZARD:
        return _CATEGORY_HAZARD[cat]
    text = _text_of(alert)
    for hazard, pattern in _HAZARD_WORDS:
        if re.search(pattern, text, re.IGNORECASE):
            return hazard
    if cat == "heavy_rain":
        return "flood"
    return None


def is_nuclear(alert: dict[str, Any]) -> bool:
    return hazard_of(alert) == "nuclear"


def evacuation_level(alert: dict[str, Any]) -> int | None:
    level = alert.get("level")
    try:
        return int(level) if level is not None else None
    except (TypeError, ValueError):
        return None


def tsunami_grade_at(alert: dict[str, Any], area_code: str | None) -> str | None:
    """Grade for one 津波予報区; the highest in the alert when the code is not given."""
    best = None
    for a in alert.get("areas") or []:
        g = a.get("tsunami_grade")
        if g is None or (area_code is not None and a.get("code") != area_code):
            continue
        if best is None or TSUNAMI_GRADE_RANK.get(g, 0) > TSUNAMI_GRADE_RANK.get(best, 0):
            best = g
    return best


def intensity_at(alert: dict[str, Any], codes: set[str] | None) -> str | None:
    """Highest observed intensity among areas whose code is in ``codes`` (None: any area)."""
    best = None
    for a in alert.get("areas") or []:
        v = a.get("intensity")
        if v not in INTENSITY_RANK or (codes is not None and a.get("code") not in codes):
            continue
        if best is None or INTENSITY_RANK[v] > INTENSITY_RANK[best]:
            best = v
    if best is None and codes is None:
        best = (alert.get("earthquake") or {}).get("max_intensity")
    return best
