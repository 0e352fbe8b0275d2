"""Readers for the plan guidance and safety checks: the hazard of an alert, and the facts of
one document at a place's own area codes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Mapping

from alerts.facts.documents import DocFacts, doc_facts
from alerts.facts.vocabulary import NOTHING, AreaFacts


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
_KIND_HAZARD = {"土砂災害": "landslide", "洪水": "flood", "高潮": "storm_surge", "大雨": "flood"}


def _text_of(alert: Mapping[str, Any]) -> str:
    parts = [alert.get("headline"), alert.get("title"), alert.get("text")]
    for info in alert.get("infos") or []:
        parts += [info.get("headline"), info.get("event"), info.get("description"), info.get("instruction")]
    for area in alert.get("areas") or []:
        for w in area.get("warnings") or []:
            parts.append(w.get("name") if isinstance(w, dict) else str(w))
    return " ".join(str(p) for p in parts if p)


def hazard_of(alert: Mapping[str, Any], area: AreaFacts | None = None) -> str | None:
    """The hazard in the shelter registry's vocabulary (plus 'nuclear'), or None if unclear."""
    if alert.get("hazard"):
        return str(alert["hazard"])
    cat = alert.get("category")
    if cat in _CATEGORY_HAZARD:
        return _CATEGORY_HAZARD[cat]
    if area is not None and area.kinds:
        for kind, _ in sorted(area.kinds, key=lambda k: -k[1]):
            if kind in _KIND_HAZARD:
                return _KIND_HAZARD[kind]
    text = _text_of(alert)
    for hazard, pattern in _HAZARD_WORDS:
        if re.search(pattern, text, re.IGNORECASE):
            return hazard
    if cat in ("heavy_rain", "weather_warning"):
        return "flood"
    return None


def facts_at(alert: Mapping[str, Any] | DocFacts, codes: Iterable[str] | None) -> AreaFacts:
    """The strongest facts of one document among the given area codes (the place's own
    codes, most specific first: a city's own value wins over its area's). ``codes`` None:
    the document as a whole. ``alert`` may be the document's facts already worked out
    (``doc_facts``): a caller asking for many places reads the document once."""
    d = alert if isinstance(alert, DocFacts) else doc_facts(alert)
    if codes is None:
        best = d.default
        for a in d.areas.values():
            if (a.level, a.rank) > (best.level, best.rank):
                best = a
        return best
    for code in codes:
        if code and code in d.areas:
            return d.areas[code]
    return d.default if d.default.rank else NOTHING
