"""Products and danger groups: which JMA (or CAP) product a document is, the group of
products that carry one danger to a resident, and how a product's documents are ordered."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from alerts.facts.vocabulary import (
    AUTHORITY, FLASH, INFO, INFO_ONLY, JST, OBSERVATION, RAISE_ONLY, SUPPLEMENT, WARNING, nfkc,
)

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
        issued = _issued(payload)
        day = issued.astimezone(JST).date().isoformat() if issued else ""
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
