"""The vocabularies and scales of the alert-facts model, defined once, and the fact about one
area (``AreaFacts``) every rule reads."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import Any, Mapping

# --- vocabularies (defined once) -------------------------------------------------------

SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
SEVERITY_RANK = {"Unknown": 0, "Minor": 1, "Moderate": 2, "Severe": 3, "Extreme": 4}
TSUNAMI_GRADES = ("major_warning", "warning", "advisory", "forecast", "none")
TSUNAMI_GRADE_RANK = {"none": 0, "forecast": 1, "advisory": 2, "warning": 3, "major_warning": 4}
# JMA seismic intensity scale (震度階級), weakest first.
INTENSITIES = ("1", "2", "3", "4", "5-", "5+", "6-", "6+", "7")
INTENSITY_RANK = {v: i + 1 for i, v in enumerate(INTENSITIES)}
# Warning statuses (JMA parser vocabulary) that mean "not in force here".
INACTIVE_STATUSES = frozenset({"解除", "なし", "発表警報・注意報はなし", "発表なし", "警報解除", "注意報解除"})
# An area whose intensity had not arrived (震度５弱以上未入電) is at least this strong.
UNRECEIVED_LOWER_BOUND = "5-"

LEVEL_NONE, LEVEL_INFO, LEVEL_ADVISORY, LEVEL_WARNING, LEVEL_EVACUATE, LEVEL_EMERGENCY = range(6)

# Roles and lifecycles (see the module docstring).
AUTHORITY, SUPPLEMENT, INFO = "authority", "supplement", "info"
WARNING, RAISE_ONLY, OBSERVATION, FLASH, INFO_ONLY = "warning", "raise_only", "observation", "flash", "info"

LIFE_CRITICAL = (
    "EEW 警報 (an area under 緊急地震速報（警報）)",
    "大津波警報 and 津波警報",
    "any 特別警報 (weather, landslide, storm surge, R06 レベル5)",
    "緊急安全確保 and 避難指示 (警戒レベル5 and 4)",
    "噴火警報（居住地域）: 噴火警戒レベル4–5, and 噴火速報",
    "レベル5 氾濫発生情報",
    "J-ALERT / 国民保護情報",
)

# Freshness: past this age (from the document's own report time) a life-critical product
# is no longer pushed as life-critical; the pull still lists it.
FRESHNESS: dict[str, timedelta] = {
    # S-waves travel ~3.5 km/s: a minute after the report, strong shaking has reached every
    # place within ~200 km of the epicentre. An EEW older than that warns of nothing.
    "eew": timedelta(seconds=60),
    # A missile reaches Japan within ~10 minutes of launch; later, "take cover now" is noise.
    "civil_protection": timedelta(minutes=15),
    # 噴火速報 says "it erupted just now": after half an hour it is news, not a warning.
    "eruption": timedelta(minutes=30),
}
# A stale EEW is not pushed at all (its message is "shaking is coming"); other stale
# life-critical products are pushed without the critical alert sound.
STALE_SILENT = frozenset({"eew"})

JST = timezone(timedelta(hours=9))


def nfkc(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "")


def normalize_intensity(value: str | None) -> str | None:
    """JMA intensity in any spelling → ``1 … 7`` / ``5-`` … ``6+``; None if not one."""
    if value is None:
        return None
    v = nfkc(str(value)).strip().removeprefix("震度").strip()
    v = v.replace("弱", "-").replace("強", "+").replace("−", "-")
    return v if v in INTENSITY_RANK else None


def intensity_level(intensity: str | None) -> int:
    r = INTENSITY_RANK.get(intensity or "", 0)
    if r >= INTENSITY_RANK["6-"]:
        return LEVEL_EMERGENCY
    if r >= INTENSITY_RANK["5-"]:
        return LEVEL_EVACUATE
    if r == INTENSITY_RANK["4"]:
        return LEVEL_WARNING
    if r == INTENSITY_RANK["3"]:
        return LEVEL_ADVISORY
    return LEVEL_INFO if r else LEVEL_NONE


TSUNAMI_LEVEL = {"major_warning": 5, "warning": 4, "advisory": 3, "forecast": 1, "none": 0}
SEVERITY_LEVEL = {"Extreme": 5, "Severe": 4, "Moderate": 3, "Minor": 2, "Unknown": 1}
VOLCANO_ACTION = {5: 4, 4: 3}  # 噴火警戒レベル5 避難 → 避難指示's action; 4 高齢者等避難 → 3


@dataclass(frozen=True, slots=True)
class AreaFacts:
    """What one product (or a danger group) says about one area."""

    code: str | None
    name: str = ""
    level: int = 0  # the common danger scale
    rank: int = 0  # order within the group's own scale (intensity, grade, 警戒レベル, 噴火警戒レベル)
    life_critical: bool = False
    in_force: bool = False
    intensity: str | None = None
    intensity_unreceived: bool = False  # 震度５弱以上未入電: at least 5弱, value not received
    tsunami_grade: str | None = None
    kinds: tuple[tuple[str, int], ...] = ()  # warnings in force: (kind, level), e.g. ("大雨", 5)
    warning_names: tuple[str, ...] = ()
    action_level: int | None = None  # 警戒レベル of the action residents should take (3/4/5)
    volcano_level: int | None = None

    def to_json(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__slots__ if getattr(self, k) not in (None, False, (), "")}
        if self.kinds:
            d["kinds"] = [list(k) for k in self.kinds]
        if self.warning_names:
            d["warning_names"] = list(self.warning_names)
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> AreaFacts:
        d = dict(d)
        d.setdefault("code", None)
        d["kinds"] = tuple((str(k), int(v)) for k, v in d.get("kinds") or ())
        d["warning_names"] = tuple(d.get("warning_names") or ())
        return cls(**{k: v for k, v in d.items() if k in cls.__slots__})


NOTHING = AreaFacts(None)
