"""Danger rank: one integer per (alert, resident) so "raises the danger" is a comparison.

Ranks are comparable only within one event (one category). 0 means nothing in force for
that resident (an all-clear); a positive rank is a danger to tell about.

=================  =============================================================
category           rank at a matched area
=================  =============================================================
earthquake         seismic intensity 1..9 (1 2 3 4 5- 5+ 6- 6+ 7)
eew                1 予報, 2 警報 (the area, or the whole message, is a warning)
tsunami            none 0 < forecast 1 < advisory 2 < warning 3 < major_warning 4
weather_warning    注意報 1 < 警報 2 < 特別警報 3 over the warnings in force; 0 when
landslide, flood   every warning of the area is lifted (else the JMA level, 2..5)
evacuation         警戒レベル 3/4/5; 0 = 解除
civil_protection   5 (J-ALERT)
anything else      the CAP severity (Minor 1 … Extreme 4)
=================  =============================================================

A resident's rank is the max over their matched places (``resident_rank``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alerts.sources.normalized import INTENSITY_RANK, SEVERITY_RANK, TSUNAMI_GRADE_RANK

# Warning statuses that mean "not in force" (from the JMA parser's vocabulary).
INACTIVE_STATUSES = {"解除", "なし", "発表警報・注意報はなし", "発表なし"}
EEW_FORECAST, EEW_WARNING = 1, 2
TSUNAMI_WARNING = TSUNAMI_GRADE_RANK["warning"]
EVAC_ORDER = 4  # 避難指示 (警戒レベル4); 5 is 緊急安全確保
J_ALERT_RANK = 5
SEISMIC = {"earthquake", "eew"}


def warning_rank(name: str) -> int:
    if "特別警報" in name:
        return 3
    if "警報" in name:
        return 2
    if "注意報" in name:
        return 1
    # 土砂災害警戒情報 ("警戒") and other announcements: a warning.
    return 2


def in_force(warnings: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [w for w in warnings or [] if isinstance(w, dict) and w.get("status") not in INACTIVE_STATUSES]


@dataclass(frozen=True, slots=True)
class AreaDanger:
    rank: int
    intensity: str | None = None  # seismic categories: the intensity at the area
    warning_names: tuple[str, ...] = ()  # weather warnings in force at the area


def _level(payload: dict[str, Any]) -> int | None:
    lvl = payload.get("level")
    try:
        return int(lvl) if lvl is not None else None
    except (TypeError, ValueError):
        return None


class AlertRanker:
    """Ranks one alert per matched area code (cached: a 100k fan-out hits a few areas)."""

    def __init__(self, payload: dict[str, Any]):
        self.payload = payload
        self.category = payload.get("category") or "other"
        self.areas = {
            str(a.get("code")): a for a in (payload.get("areas") or []) if isinstance(a, dict) and a.get("code") is not None
        }
        self._cache: dict[str | None, AreaDanger] = {}

    def area(self, code: str | None) -> dict[str, Any] | None:
        return self.areas.get(code) if code is not None else None

    def danger(self, area_code: str | None) -> AreaDanger:
        if area_code not in self._cache:
            self._cache[area_code] = self._danger(area_code)
        return self._cache[area_code]

    def _danger(self, area_code: str | None) -> AreaDanger:
        p, cat = self.payload, self.category
        area = self.area(area_code)
        if cat == "earthquake":
            inten = (area or {}).get("intensity") or (p.get("earthquake") or {}).get("max_intensity")
            return AreaDanger(INTENSITY_RANK.get(inten, 0), intensity=inten)
        if cat == "eew":
            eew = p.get("eew") or {}
            inten = (area or {}).get("intensity") or (area or {}).get("intensity_from") or eew.get("max_intensity")
            warning = bool((area or {}).get("eew_warning")) or bool(eew.get("is_warning"))
            return AreaDanger(EEW_WARNING if warning else EEW_FORECAST, intensity=inten)
        if cat == "tsunami":
            grade = (area or {}).get("tsunami_grade")
            if grade is None and area is None:  # polygon match: the strongest grade of the message
                grade = max(
                    (a.get("tsunami_grade") for a in self.areas.values() if a.get("tsunami_grade")),
                    key=lambda g: TSUNAMI_GRADE_RANK.get(g, 0),
                    default="none",
                )
            return AreaDanger(TSUNAMI_GRADE_RANK.get(grade or "none", 0))
        if cat == "civil_protection":
            return AreaDanger(J_ALERT_RANK)
        if cat == "evacuation":
            lvl = _level(p)
            if lvl is None:
                return AreaDanger(0 if "解除" in str(p.get("headline") or "") else 3)
            return AreaDanger(max(0, lvl))
        if area is not None and "warnings" in area:
            active = in_force(area.get("warnings"))
            if not active:
                return AreaDanger(0)
            names = tuple(str(w.get("name") or "") for w in active)
            if cat in ("landslide", "flood") and _level(p):
                return AreaDanger(_level(p) or 0, warning_names=names)
            return AreaDanger(max(warning_rank(n) for n in names), warning_names=names)
        if cat in ("landslide", "flood", "volcano") and _level(p) is not None:
            return AreaDanger(_level(p) or 0)
        return AreaDanger(SEVERITY_RANK.get(p.get("severity") or "Unknown", 0) or 1)

    def life_critical(self, rank: int) -> bool:
        """EEW 警報, 大津波警報 / 津波警報, 緊急安全確保 / 避難指示, J-ALERT (PRODUCT: never held back).
        A drill is never life-critical: it respects quiet hours and never rings as critical."""
        if self.payload.get("is_drill"):
            return False
        cat = self.category
        if cat == "eew":
            return rank >= EEW_WARNING
        if cat == "tsunami":
            return rank >= TSUNAMI_WARNING
        if cat == "evacuation":
            return rank >= EVAC_ORDER
        return cat == "civil_protection"
