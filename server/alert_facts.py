"""What an alert means: the one alert-facts model every rule reads.

A parsed document (the normalized alert of ``alerts.sources``) says many things in many
vocabularies: 震度, 津波の予報区分, 警報の種類, 警戒レベル相当, 噴火警戒レベル, EEW 予報/警報,
CAP severity. This module turns each document into typed facts — per area and per
**product** — and the products of one danger into the danger's state now. Ranking,
transitions, the life-critical bypass, plan guidance, safety checks, the pull and the
console all read these facts and nothing else; the vocabularies are defined here once.

Three ideas carry it (JMA's own definitions, not the samples):

* **Product**: a JMA product family (緊急地震速報, 震度速報, 震源・震度情報, 津波警報・注意報,
  津波情報, 沖合の津波観測, 気象警報 …, 噴火警報, 噴火速報) or a CAP ``<references>`` chain.
  Its documents are ordered by report time, then ``Serial`` (out-of-order arrival is
  normal); only the newest counts; a 取消 withdraws exactly that product.
* **Danger group**: the products that carry one danger to a resident — an EEW's 警報 and
  予報, one quake's 震度速報 and 震源・震度情報, one tsunami's 警報 and 情報, one forecast
  region's 気象警報 in every format with its 特別警報報知. A resident hears a group once
  per change, however many products repeat it.
* **Role and lifecycle**: an *authority* product states the danger and may lower or lift
  it (津波警報・注意報, 気象警報); a *supplement* only repeats or adds to it and never lowers
  or lifts it (津波情報, 沖合の津波観測, 特別警報報知); an *info* product never changes what
  a resident is told. A group's lifecycle says what can happen at all: ``warning``
  (raise, lower, lift), ``raise_only`` (EEW: 予報 → 警報, never "lowered"; only 取消 ends
  it), ``observation`` (shaking that happened: more precise reports never lower it),
  ``flash`` (each document is news of its own: 噴火速報, 記録的短時間大雨情報).

The **common danger scale** (``level``, 0–5) puts every source scale on one axis so the
console, the pull and the simulator can compare a tsunami with a landslide:

=====  ==============================================================================
level  meaning (examples)
=====  ==============================================================================
0      nothing in force (解除, 津波なし, 噴火予報 / レベル1 ends a warning)
1      information (震度1–2, 津波予報 若干の海面変動, 噴火警戒レベル1)
2      注意報 / 警戒レベル2 (震度3, 氾濫注意, 噴火警戒レベル2, EEW 予報 below 震度4)
3      警報 / 高齢者等避難 (震度4, 津波注意報, 氾濫警戒, 噴火警戒レベル3, 竜巻注意情報)
4      避難指示 tier (震度5弱・5強, 津波警報, 土砂災害警戒情報, 危険警報, 氾濫危険, EEW 警報,
       噴火警戒レベル4, 記録的短時間大雨情報, 後発地震注意情報 is 3)
5      緊急安全確保 tier (震度6弱+, 大津波警報, 特別警報, 氾濫発生, 噴火警戒レベル5 /
       噴火速報, J-ALERT)
=====  ==============================================================================

``life_critical`` is one definition (``LIFE_CRITICAL`` below, per area): EEW 警報,
大津波警報, 津波警報, any 特別警報, 緊急安全確保, 避難指示, 噴火警報（居住地域）(噴火警戒
レベル4–5) and 噴火速報, レベル5 氾濫発生, J-ALERT / 国民保護. A drill is never
life-critical. A life-critical product older than its freshness limit
(``FRESHNESS``) is no longer life-critical when it reaches a resident.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

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


# --- facts ----------------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class Product:
    family: str  # product family (one lifecycle: ordering, 取消)
    group: str  # danger group kind (one resident notification)
    role: str  # authority | supplement | info
    lifecycle: str  # warning | raise_only | observation | flash | info
    category: str  # the group's category (deliveries, preferences, templates)


def _p(family: str, group: str, role: str, lifecycle: str, category: str) -> Product:
    return Product(family, group, role, lifecycle, category)


# JMA type code → product. Codes not listed fall back by category (``product_of``).
JMA_PRODUCTS: dict[str, Product] = {
    # 緊急地震速報: 予報 and 地震動予報 share one Serial sequence per EventID; the 警報 counts
    # its own. A 取消 of any of them means the EEW was wrong: it withdraws the whole EEW.
    "VXSE43": _p("eew_warning", "eew", AUTHORITY, RAISE_ONLY, "eew"),
    "VXSE44": _p("eew_forecast", "eew", AUTHORITY, RAISE_ONLY, "eew"),
    "VXSE45": _p("eew_forecast", "eew", AUTHORITY, RAISE_ONLY, "eew"),
    "VXSE42": _p("eew_test", "info", INFO, INFO_ONLY, "eew"),
    "VXSE51": _p("quake_flash", "quake", AUTHORITY, OBSERVATION, "earthquake"),
    "VXSE52": _p("hypocentre", "quake", INFO, OBSERVATION, "earthquake"),
    "VXSE53": _p("quake_detail", "quake", AUTHORITY, OBSERVATION, "earthquake"),
    "VXSE56": _p("quake_activity", "info", INFO, INFO_ONLY, "earthquake"),
    "VXSE60": _p("quake_count", "info", INFO, INFO_ONLY, "earthquake"),
    "VXSE61": _p("hypocentre_update", "quake", INFO, OBSERVATION, "earthquake"),
    "VXSE62": _p("long_period_motion", "lpgm", AUTHORITY, OBSERVATION, "earthquake"),
    "VTSE41": _p("tsunami_warning", "tsunami", AUTHORITY, WARNING, "tsunami"),
    "VTSE51": _p("tsunami_info", "tsunami", SUPPLEMENT, WARNING, "tsunami"),
    "VTSE52": _p("tsunami_offshore", "tsunami", SUPPLEMENT, WARNING, "tsunami"),
    "VYSE60": _p("subsequent_quake_advisory", "megaquake", AUTHORITY, WARNING, "earthquake"),
    "VYSE50": _p("nankai_trough", "info", INFO, INFO_ONLY, "earthquake"),
    "VYSE51": _p("nankai_trough", "info", INFO, INFO_ONLY, "earthquake"),
    "VYSE52": _p("nankai_trough", "info", INFO, INFO_ONLY, "earthquake"),
    "VZSE40": _p("quake_notice", "info", INFO, INFO_ONLY, "other"),
    "VPWW50": _p("weather_warning_VPWW50", "weather", AUTHORITY, WARNING, "weather_warning"),
    "VPWW53": _p("weather_warning_VPWW53", "weather", AUTHORITY, WARNING, "weather_warning"),
    "VPWW54": _p("weather_warning_VPWW54", "weather", AUTHORITY, WARNING, "weather_warning"),
    **{
        f"VPWW{n}": _p(f"weather_warning_VPWW{n}", "weather", AUTHORITY, WARNING, "weather_warning")
        for n in range(55, 62)
    },
    "VPNO50": _p("special_warning_notice", "weather", SUPPLEMENT, WARNING, "weather_warning"),
    "VXWW50": _p("landslide_alert", "landslide", AUTHORITY, WARNING, "landslide"),
    "VXKO": _p("river_flood_forecast", "river", AUTHORITY, WARNING, "flood"),
    "VXSU": _p("river_level_notice", "river", AUTHORITY, WARNING, "flood"),
    "VPOA50": _p("record_rainfall", "flash", AUTHORITY, FLASH, "heavy_rain"),
    # 顕著な大雨に関する情報 (線状降水帯) and 記録的短時間大雨情報 in their current product.
    "VPBS50": _p("heavy_rain_band", "flash", AUTHORITY, FLASH, "heavy_rain"),
    "VPHW50": _p("tornado", "flash", AUTHORITY, FLASH, "tornado"),
    "VPHW51": _p("tornado", "flash", AUTHORITY, FLASH, "tornado"),
    "VFVO50": _p("volcano_warning", "volcano", AUTHORITY, WARNING, "volcano"),
    "VFVO56": _p("eruption_flash", "eruption", AUTHORITY, FLASH, "volcano"),
}
# Bulletins, forecasts and explanations: listed in the pull, never pushed.
for _code in ("VPZJ50", "VPCJ50", "VPFJ50", "VPFD50", "VPFD51", "VPFW50", "VFVO51", "VFVO52", "VFVO53",
              "VFVO54", "VFVO55", "VFVO60", "VFSV", "VPTW", "VPTA"):
    JMA_PRODUCTS[_code] = _p(f"bulletin_{_code}", "info", INFO, INFO_ONLY, "other")

HEAVY_RAIN_BAND_FORECAST = _p("heavy_rain_band_forecast", "flash", AUTHORITY, FLASH, "heavy_rain")
_CAP_LIFECYCLE = {"civil_protection": FLASH}
_CATEGORY_FALLBACK = {"eew": "VXSE44", "earthquake": "VXSE53", "tsunami": "VTSE41", "weather_warning": "VPWW53",
                      "heavy_rain": "VPWW53", "landslide": "VXWW50", "flood": "VXKO", "volcano": "VFVO50",
                      "tornado": "VPHW50"}


def _type_code(payload: Mapping[str, Any]) -> str:
    code = str(payload.get("type_code") or "")
    if code.startswith("VXKO"):
        return "VXKO"
    if code.startswith("VXSU"):
        return "VXSU"
    if code.startswith("VPTW") or code.startswith("VPTA"):
        return code[:4]
    if code.startswith("VFSV"):
        return "VFSV"
    return code


def product_of(payload: Mapping[str, Any]) -> Product:
    category = str(payload.get("category") or "other")
    if payload.get("source") == "jma":
        band = payload.get("heavy_rain_band")
        if band and _type_code(payload) in ("VPFJ50", "VPCJ50", "VPBS50"):
            # 顕著な大雨に関する情報 (線状降水帯), in whichever bulletin carries it: observed or
            # imminent is a level-4 danger; the half-day advance notice is a heads-up.
            return HEAVY_RAIN_BAND_FORECAST if band == "half_day" else JMA_PRODUCTS["VPBS50"]
        p = JMA_PRODUCTS.get(_type_code(payload))
        if p is not None:
            return p
        # A document whose type could not be told: read as the main product of its category
        # (a warning is never silent for want of a type code).
        fallback = _CATEGORY_FALLBACK.get(category)
        if fallback is not None:
            return JMA_PRODUCTS[fallback]
        return _p("jma_unknown", "info", INFO, INFO_ONLY, category)
    # A CAP <references> chain is one product, whatever category each message parses to
    # (a Cancel without <info> is "other").
    return _p("cap", "cap", AUTHORITY, _CAP_LIFECYCLE.get(category, WARNING), category)


def _region_of(payload: Mapping[str, Any]) -> str:
    """The forecast region of a weather document (its Head/Title before the product words)."""
    event_id = str(payload.get("event_id") or "")
    head_title = event_id.split("|")[-1] if "|" in event_id else event_id
    m = re.match(r"^(.+?)(?:気象|大雨|土砂|高潮|暴風|波浪|大雪|その他|洪水|雷|記録的)", nfkc(head_title))
    return m.group(1) if m else head_title


def group_key(payload: Mapping[str, Any]) -> str:
    """The key of the danger group (``alert_events.event_id``) a document belongs to."""
    p = product_of(payload)
    event_id = str(payload.get("event_id") or payload.get("source_id") or "")
    if payload.get("source") != "jma":
        return event_id
    if p.group in ("weather", "landslide"):
        return f"{p.group}|{payload.get('sender') or ''}|{_region_of(payload)}"
    if p.group == "eruption":
        day = _issued(payload).astimezone(JST).date().isoformat() if _issued(payload) else ""
        return f"eruption|{event_id}|{day}"
    if p.group == "flash":
        return f"{p.family}|{payload.get('source_id') or event_id}"
    if p.group == "info":
        return f"info|{p.family}|{event_id}"
    return f"{p.group}|{event_id}"


def _issued(payload: Mapping[str, Any]) -> datetime | None:
    v = payload.get("issued_at")
    if isinstance(v, datetime):
        return v
    try:
        return datetime.fromisoformat(str(v)) if v else None
    except ValueError:
        return None


def serial_of(payload: Mapping[str, Any]) -> int | None:
    s = payload.get("serial") or (payload.get("eew") or {}).get("serial")
    try:
        return int(nfkc(str(s)).strip()) if s not in (None, "") else None
    except ValueError:
        return None


# --- one document ----------------------------------------------------------------------


_LEVEL_WORD = re.compile(r"レベル\s*([1-5])")


def warning_kind(name: str) -> tuple[str, int] | None:
    """(kind, level) of a warning name in force, or None if it is no warning.

    ``大雨特別警報`` → (大雨, 5); ``レベル４大雨危険警報`` → (大雨, 4); ``大雨警報（土砂災害）`` →
    (大雨, 3); ``雷注意報`` → (雷, 2); ``土砂災害警戒情報`` / ``警戒`` → (土砂災害, 4)."""
    n = nfkc(name).strip()
    if not n or n in INACTIVE_STATUSES:
        return None
    m = _LEVEL_WORD.search(n)
    explicit = int(m.group(1)) if m else None
    base = _LEVEL_WORD.sub("", n)
    base = re.sub(r"[（(].*?[)）]", "", base).strip()
    if "警戒情報" in base or base == "警戒":
        return ("土砂災害", explicit or 4)
    for word, level in (("特別警報", 5), ("危険警報", 4), ("警報", 3), ("注意報", 2)):
        if word in base:
            kind = base.split(word)[0].strip() or base
            return (kind, explicit or level)
    if explicit:
        return (base, explicit)
    return None


def _kinds_of(area: Mapping[str, Any]) -> tuple[tuple[tuple[str, int], ...], tuple[str, ...]]:
    best: dict[str, int] = {}
    names: list[str] = []
    for w in area.get("warnings") or []:
        if not isinstance(w, dict) or w.get("status") in INACTIVE_STATUSES:
            continue
        name = str(w.get("name") or "")
        kl = warning_kind(name)
        if kl is None:
            continue
        kind, level = kl
        if isinstance(w.get("level"), int) and 1 <= w["level"] <= 5:
            level = w["level"]
        best[kind] = max(best.get(kind, 0), level)
        names.append(name)
    return tuple(sorted(best.items())), tuple(dict.fromkeys(names))


def _volcano_level_of(area: Mapping[str, Any], doc_level: int | None) -> int | None:
    """噴火警戒レベル at a municipality: its 防災対応 words, else the document's level."""
    words = " ".join(nfkc(str(w.get("name") or "")) for w in area.get("warnings") or [] if isinstance(w, dict))
    m = _LEVEL_WORD.search(words)
    if m:
        return int(m.group(1))
    for word, lvl in (("高齢者等避難", 4), ("避難", 5), ("居住地域厳重警戒", 5), ("入山規制", 3), ("入山危険", 3),
                      ("火口周辺規制", 2), ("火口周辺危険", 2), ("留意", 1)):
        if word in words:
            return lvl
    if "居住地域" in words:
        return max(doc_level or 4, 4)
    if "火口周辺" in words:
        return min(doc_level or 3, 3) if doc_level else 3
    return doc_level


def _as_int(v: Any) -> int | None:
    try:
        return int(v) if v is not None and v != "" else None
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class DocFacts:
    """What one document says, per area."""

    product: Product
    group: str
    is_cancel: bool
    is_drill: bool
    issued_at: datetime | None
    serial: int | None
    areas: dict[str, AreaFacts] = field(default_factory=dict)
    default: AreaFacts = NOTHING  # for a polygon match (no area code)

    @property
    def order(self) -> tuple:
        return (self.issued_at or datetime.min.replace(tzinfo=JST), self.serial if self.serial is not None else -1)


def _area_facts(payload: Mapping[str, Any], p: Product, area: Mapping[str, Any]) -> AreaFacts | None:
    code = str(area.get("code")) if area.get("code") is not None else None
    name = str(area.get("name") or "")
    drill = bool(payload.get("is_drill"))
    if p.lifecycle == INFO_ONLY:
        return None
    if p.group == "eew":
        inten = area.get("intensity") or area.get("intensity_from")
        warned = bool(area.get("eew_warning")) or (
            area.get("eew_warning") is None and bool((payload.get("eew") or {}).get("is_warning"))
        )
        level = max(intensity_level(inten), LEVEL_EVACUATE if warned else LEVEL_ADVISORY if not inten else 0)
        return AreaFacts(code, name, level, 2 if warned else 1, warned and not drill, True, intensity=inten)
    if p.group == "quake":
        inten = area.get("intensity")
        unreceived = inten is None and "未入電" in nfkc(str(area.get("condition") or ""))
        if unreceived:
            return AreaFacts(code, name, intensity_level(UNRECEIVED_LOWER_BOUND), INTENSITY_RANK[UNRECEIVED_LOWER_BOUND],
                             False, True, intensity=None, intensity_unreceived=True)
        if inten not in INTENSITY_RANK:
            return None
        return AreaFacts(code, name, intensity_level(inten), INTENSITY_RANK[inten], False, True, intensity=inten)
    if p.group == "lpgm":
        cls = _as_int(area.get("lpgm_class"))
        if not cls:
            return None
        level = LEVEL_EVACUATE if cls >= 3 else LEVEL_ADVISORY
        return AreaFacts(code, name, level, cls, False, True)
    if p.group == "tsunami":
        grade = area.get("tsunami_grade")
        if grade not in TSUNAMI_GRADE_RANK:
            return None  # observations and estimates carry no grade: they say nothing about the warning
        rank = TSUNAMI_GRADE_RANK[grade]
        return AreaFacts(code, name, TSUNAMI_LEVEL[grade], rank, rank >= TSUNAMI_GRADE_RANK["warning"] and not drill,
                         rank >= TSUNAMI_GRADE_RANK["advisory"], tsunami_grade=grade,
                         action_level=4 if rank >= TSUNAMI_GRADE_RANK["warning"] else None)
    if p.group in ("weather", "landslide"):
        if "warnings" not in area:
            return None
        kinds, names = _kinds_of(area)
        if p.family == "special_warning_notice":
            # A 特別警報報知 announces 特別警報; the 警報 it mentions when one is lifted is the
            # warning product's news to tell, not the 報知's.
            kinds = tuple(k for k in kinds if k[1] >= 5)
            names = tuple(n for n in names if "特別警報" in n)
        level = max((lv for _, lv in kinds), default=0)
        return AreaFacts(code, name, level, level, level >= 5 and not drill, level >= 2, kinds=kinds,
                         warning_names=names, action_level=level if level >= 3 else None)
    if p.group == "river":
        lvl = _as_int(area.get("level")) if isinstance(area.get("level"), int) else None
        if lvl is None:
            ws = [w for w in area.get("warnings") or [] if isinstance(w, dict)]
            if ws:
                active = [w for w in ws if w.get("status") not in INACTIVE_STATUSES and "解除" not in str(w.get("status") or "")]
                lvls = [_as_int(w.get("level")) or 0 for w in active]
                lvl = max(lvls, default=0)
            elif area.get("kind") in ("city", "jma_city", "municipality"):
                lvl = _as_int(payload.get("level"))
        if lvl is None:
            return None
        names = tuple(str(w.get("name")) for w in area.get("warnings") or [] if isinstance(w, dict) and w.get("name"))
        return AreaFacts(code, name, lvl, lvl, lvl >= 5 and not drill, lvl >= 2, warning_names=names,
                         action_level=lvl if lvl >= 3 else None)
    if p.group == "volcano":
        if area.get("kind") == "volcano":
            return None  # the volcano itself is no place anyone lives
        vl = _volcano_level_of(area, _as_int(payload.get("level")))
        if vl is None:
            return None
        rank = vl if vl >= 2 else 0
        names = tuple(str(w.get("name")) for w in area.get("warnings") or [] if isinstance(w, dict) and w.get("name"))
        return AreaFacts(code, name, rank, rank, vl >= 4 and not drill, vl >= 2, warning_names=names,
                         action_level=VOLCANO_ACTION.get(vl), volcano_level=vl)
    if p.group == "eruption":
        if area.get("kind") == "volcano":
            return None
        return AreaFacts(code, name, LEVEL_EMERGENCY, 1, not drill, True, action_level=4)
    if p.group == "megaquake":
        return AreaFacts(code, name, LEVEL_WARNING, 1, False, True)
    if p.group == "flash":
        level = {"record_rainfall": 4, "heavy_rain_band": 4, "heavy_rain_band_forecast": 3, "tornado": 3}.get(p.family, 3)
        return AreaFacts(code, name, level, level, False, True)
    return None


def _doc_default(payload: Mapping[str, Any], p: Product) -> AreaFacts:
    """The facts of the whole document: what a polygon match (no area code) gets, and CAP."""
    drill = bool(payload.get("is_drill"))
    cat = p.category
    if payload.get("source") == "jma":
        return NOTHING
    if cat == "civil_protection":
        return AreaFacts(None, "", LEVEL_EMERGENCY, 5, not drill, True, action_level=None)
    if cat == "evacuation":
        lvl = evacuation_level(payload)
        if lvl is None:
            lvl = 0 if "解除" in str(payload.get("headline") or "") else 3
        lvl = max(0, min(5, lvl))
        return AreaFacts(None, "", lvl, lvl, lvl >= 4 and not drill, lvl > 0, action_level=lvl if lvl >= 3 else None)
    if cat == "tsunami":
        grades = [a.get("tsunami_grade") for a in payload.get("areas") or [] if isinstance(a, dict)]
        grade = max((g for g in grades if g in TSUNAMI_GRADE_RANK), key=TSUNAMI_GRADE_RANK.get, default=None)
        if grade:
            rank = TSUNAMI_GRADE_RANK[grade]
            return AreaFacts(None, "", TSUNAMI_LEVEL[grade], rank, rank >= 3 and not drill, rank >= 2, tsunami_grade=grade)
    sev = str(payload.get("severity") or "Unknown")
    rank = SEVERITY_RANK.get(sev, 0) or 1
    level = SEVERITY_LEVEL.get(sev, 1)
    lvl = _as_int(payload.get("level"))
    if cat in ("landslide", "flood") and lvl:
        level, rank = lvl, lvl
    return AreaFacts(None, "", level, rank, False, True)


def evacuation_level(payload: Mapping[str, Any]) -> int | None:
    """The CAP evacuation level (警戒レベル 3/4/5, 0 = 解除) where the parser put it."""
    for key in ("evacuation_level", "level"):
        v = _as_int(payload.get(key))
        if v is not None:
            return v
        if str(payload.get(key) or "").strip() == "解除":
            return 0
    return None


def doc_facts(payload: Mapping[str, Any]) -> DocFacts:
    p = product_of(payload)
    is_cancel = payload.get("msg_type") == "cancel"
    default = NOTHING if is_cancel else _doc_default(payload, p)
    areas: dict[str, AreaFacts] = {}
    if not is_cancel:
        for a in payload.get("areas") or []:
            if not isinstance(a, dict) or a.get("code") is None:
                continue
            f = _area_facts(payload, p, a)
            if f is None and payload.get("source") != "jma":
                f = replace(default, code=str(a.get("code")), name=str(a.get("name") or ""))
            if f is None:
                continue
            prev = areas.get(f.code or "")
            areas[f.code or ""] = f if prev is None else _stronger(prev, f)
    return DocFacts(p, group_key(payload), is_cancel, bool(payload.get("is_drill")), _issued(payload),
                    serial_of(payload), areas, default)


def _stronger(a: AreaFacts, b: AreaFacts) -> AreaFacts:
    if a.kinds or b.kinds:
        return _merge_kinds(a, b)
    return b if (b.rank, b.level) > (a.rank, a.level) else a


def _merge_kinds(a: AreaFacts, b: AreaFacts) -> AreaFacts:
    best = dict(a.kinds)
    for k, lv in b.kinds:
        best[k] = max(best.get(k, 0), lv)
    kinds = tuple(sorted(best.items()))
    level = max(best.values(), default=0)
    names = tuple(dict.fromkeys(a.warning_names + b.warning_names))
    return replace(a, level=level, rank=level, life_critical=a.life_critical or b.life_critical,
                   in_force=level >= 2, kinds=kinds, warning_names=names,
                   action_level=level if level >= 3 else None, name=a.name or b.name)


# --- a danger group: the newest document of each product, combined --------------------


@dataclass(frozen=True, slots=True)
class GroupFacts:
    """The state of one danger now: per area, over the newest document of each product."""

    group: str
    category: str
    lifecycle: str
    areas: dict[str, AreaFacts]
    default: AreaFacts
    in_force: bool
    cancelled: bool
    products: dict[str, int] = field(default_factory=dict)  # family → alert id of its newest document
    # An authority product stands among the newest documents: only then can "nothing in
    # force" mean lifted (a 報知 or an observation alone never lifts a warning).
    authoritative: bool = False

    def at(self, code: str | None) -> AreaFacts:
        if code is None:
            return self.default
        return self.areas.get(code, self.default if self.default.code is None and self.default.rank else NOTHING)

    @property
    def max(self) -> AreaFacts:
        best = self.default
        for a in self.areas.values():
            if (a.level, a.rank) > (best.level, best.rank):
                best = a
        return best

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group, "category": self.category, "lifecycle": self.lifecycle,
            "areas": {c: a.to_json() for c, a in self.areas.items()}, "default": self.default.to_json(),
            "in_force": self.in_force, "cancelled": self.cancelled, "products": self.products,
            "authoritative": self.authoritative,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> GroupFacts:
        return cls(
            group=str(d.get("group") or ""), category=str(d.get("category") or "other"),
            lifecycle=str(d.get("lifecycle") or WARNING),
            areas={c: AreaFacts.from_json(a) for c, a in (d.get("areas") or {}).items()},
            default=AreaFacts.from_json(d.get("default") or {"code": None}),
            in_force=bool(d.get("in_force")), cancelled=bool(d.get("cancelled")),
            products={str(k): int(v) for k, v in (d.get("products") or {}).items()},
            authoritative=bool(d.get("authoritative")),
        )


def newest_per_product(docs: Iterable[tuple[int, DocFacts]]) -> dict[str, tuple[int, DocFacts]]:
    """The newest document of each product family: report time, then Serial, then arrival."""
    best: dict[str, tuple[int, DocFacts]] = {}
    for alert_id, d in docs:
        cur = best.get(d.product.family)
        if cur is None or (d.order, alert_id) > (cur[1].order, cur[0]):
            best[d.product.family] = (alert_id, d)
    return best


def combine(docs: Iterable[tuple[int, DocFacts]]) -> GroupFacts:
    """The danger now from every stored document of one group (any order of arrival)."""
    newest = newest_per_product(docs)
    if not newest:
        return GroupFacts("", "other", WARNING, {}, NOTHING, False, False)
    any_doc = next(iter(newest.values()))[1]
    group, category = any_doc.product.group, any_doc.product.category
    lifecycle = any_doc.product.lifecycle
    live = [(i, d) for i, d in newest.values() if not d.is_cancel and d.product.role != INFO]
    cancelled = all(d.is_cancel for _, d in newest.values())
    if group == "eew" and any(d.is_cancel for _, d in newest.values()):
        live, cancelled = [], True  # an EEW 取消 withdraws the EEW, 警報 and 予報 alike
    seen_authority = any(d.product.role == AUTHORITY for _, d in newest.values())
    authorities = [d for _, d in live if d.product.role == AUTHORITY]
    if authorities:
        sources = authorities
    elif seen_authority:
        # The authority was withdrawn (取消): what repeated it (津波情報, 報知) is void with it.
        sources, cancelled = [], True
    else:
        sources = [d for _, d in live if d.product.role == SUPPLEMENT]
    areas: dict[str, AreaFacts] = {}
    default = NOTHING
    for d in sources:
        for code, f in d.areas.items():
            areas[code] = f if code not in areas else _stronger(areas[code], f)
        if (d.default.rank, d.default.level) > (default.rank, default.level):
            default = d.default
    in_force = any(a.in_force for a in areas.values()) or default.in_force
    return GroupFacts(group, category, lifecycle, areas, default, in_force, cancelled,
                      {fam: i for fam, (i, _) in newest.items()}, seen_authority)


def is_stale(category: str, group: str, issued_at: datetime | None, now: datetime) -> bool:
    """A life-critical product past its freshness limit (``FRESHNESS``)."""
    limit = FRESHNESS.get(group) or FRESHNESS.get(category)
    return bool(limit and issued_at is not None and now - issued_at > limit)


# --- readers for the plan guidance and safety checks -----------------------------------

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


def facts_at(alert: Mapping[str, Any], codes: Iterable[str] | None) -> AreaFacts:
    """The strongest facts of one document among the given area codes (the place's own
    codes, most specific first: a city's own value wins over its area's). ``codes`` None:
    the document as a whole."""
    d = doc_facts(alert)
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
