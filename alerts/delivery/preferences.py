"""Resident alert preferences (stored in ``residents.preferences``) and the rules that apply them.

Rules, in order, for one resident and one alert:

1. **Life-critical alerts always go** (the one definition of ``alerts.facts``: EEW
   警報, 大津波警報 / 津波警報, any 特別警報, 緊急安全確保, 避難指示, 噴火警報（居住地域）/
   噴火速報, レベル5 氾濫発生, J-ALERT): no category switch, threshold, warning kind or
   quiet hours holds them back for any of the resident's places.
2. **Categories**: a category switched off is never notified (``categories: {"tsunami": false}``).
3. **Seismic threshold** (earthquake, EEW): a place counts only if the intensity there
   reaches its threshold — per place (``seismic_thresholds: {"<place_id>": "5-"}``), else
   the resident's default (``seismic_min_intensity``), else ``DEFAULT_SEISMIC_MIN``.
4. **Warning kinds** (weather warnings): a warning kind counts only if its level reaches
   ``weather_min_level`` (注意報 2, 警報 3, 特別警報 5 on the common danger scale) and, when
   ``warning_kinds`` is set, it is one of them (``["大雨", "洪水"]``).
5. **Drills** (訓練, exercises): only for residents with ``drills: true``, labelled as drills.
6. **Quiet hours** (``quiet_hours: {"start": "22:00", "end": "07:00", "tz": "Asia/Tokyo"}``):
   anything still to notify is *held* — recorded in ``deliveries`` (status ``held``) and
   shown by ``GET /v1/me/alerts`` — instead of pushed.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from alerts.sources.normalized import CATEGORIES
from alerts.facts import INTENSITY_RANK

# Yahoo!防災速報's default: 震度3 is felt by most people indoors; weaker shaking is noise.
DEFAULT_SEISMIC_MIN = "3"
# 注意報 are issued daily somewhere in the prefecture; by default only 警報 and above push.
DEFAULT_WEATHER_MIN_LEVEL = "warning"
# On the common danger scale (alerts.facts): 注意報 2, 警報 3, 特別警報 5 (危険警報 4
# counts as a warning).
WEATHER_LEVELS = {"advisory": 2, "warning": 3, "emergency": 5}
DEFAULT_TZ = "Asia/Tokyo"


def _hhmm(value: str) -> time:
    try:
        hh, mm = value.split(":")
        if (int(hh), int(mm)) == (24, 0):  # "24:00": the end of the day
            return time.max
        return time(int(hh), int(mm))
    except (ValueError, AttributeError) as exc:
        raise ValueError(f"{value!r} is not a HH:MM time") from exc


class QuietHours(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: str
    end: str
    tz: str = DEFAULT_TZ

    @field_validator("start", "end")
    @classmethod
    def _valid_time(cls, v: str) -> str:
        _hhmm(v)
        return v

    @field_validator("tz")
    @classmethod
    def _valid_tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    def active(self, now: datetime) -> bool:
        local = now.astimezone(ZoneInfo(self.tz)).time()
        start, end = _hhmm(self.start), _hhmm(self.end)
        if start == end:
            return False
        if start < end:
            return start <= local < end or (end == time.max and local >= start)
        return local >= start or local < end  # spans midnight


class Preferences(BaseModel):
    model_config = ConfigDict(extra="forbid")

    categories: dict[str, bool] = Field(default_factory=dict)
    seismic_min_intensity: str = DEFAULT_SEISMIC_MIN
    seismic_thresholds: dict[str, str] = Field(default_factory=dict)
    weather_min_level: str = DEFAULT_WEATHER_MIN_LEVEL
    warning_kinds: list[str] | None = None
    quiet_hours: QuietHours | None = None
    # Drills (訓練) reach only residents who asked for them; never anyone else.
    drills: bool = False

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, v: dict[str, bool]) -> dict[str, bool]:
        unknown = sorted(set(v) - CATEGORIES)
        if unknown:
            raise ValueError(f"unknown categories: {', '.join(unknown)}")
        return v

    @field_validator("seismic_min_intensity")
    @classmethod
    def _intensity(cls, v: str) -> str:
        if v not in INTENSITY_RANK:
            raise ValueError(f"intensity must be one of {' '.join(INTENSITY_RANK)}")
        return v

    @field_validator("seismic_thresholds")
    @classmethod
    def _thresholds(cls, v: dict[str, str]) -> dict[str, str]:
        for place, inten in v.items():
            if not str(place).isdigit():
                raise ValueError(f"place id {place!r} is not a number")
            if inten not in INTENSITY_RANK:
                raise ValueError(f"intensity {inten!r} for place {place} must be one of {' '.join(INTENSITY_RANK)}")
        return v

    @field_validator("weather_min_level")
    @classmethod
    def _weather_level(cls, v: str) -> str:
        if v not in WEATHER_LEVELS:
            raise ValueError(f"weather_min_level must be one of {', '.join(WEATHER_LEVELS)}")
        return v

    @model_validator(mode="after")
    def _kinds(self) -> Preferences:
        if self.warning_kinds is not None:
            self.warning_kinds = [k.strip() for k in self.warning_kinds if k and k.strip()]
        return self

    # --- rules ---------------------------------------------------------------------
    def category_on(self, category: str) -> bool:
        return self.categories.get(category, True)

    def seismic_threshold(self, place_id: int) -> int:
        return INTENSITY_RANK[self.seismic_thresholds.get(str(place_id), self.seismic_min_intensity)]

    def warning_counts(self, kind: str, level: int) -> bool:
        """A warning kind in force (``大雨``, level on the common scale) counts for this resident.
        ``warning_kinds`` entries match a kind either way round (``大雨`` or ``大雨警報``)."""
        if level < WEATHER_LEVELS[self.weather_min_level]:
            return False
        if self.warning_kinds is None:
            return True
        return any(k in kind or kind in k for k in self.warning_kinds)

    def quiet_now(self, now: datetime) -> bool:
        return self.quiet_hours is not None and self.quiet_hours.active(now)


DEFAULT_PREFERENCES = Preferences()


def load_preferences(raw: Any) -> Preferences:
    """Stored JSON → Preferences; a stored value that no longer validates falls back to defaults."""
    if not raw:
        return DEFAULT_PREFERENCES
    try:
        return Preferences.model_validate(raw)
    except ValueError:
        return DEFAULT_PREFERENCES
