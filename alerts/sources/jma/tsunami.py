"""Tsunami products: 津波警報・注意報・予報 (VTSE41), 津波情報 (VTSE51),
沖合の津波観測に関する情報 (VTSE52).

Grades per 津波予報区 come from Category/Kind/Code (JMA code table 津波警報等):

====  ============================================  ==============
code  name                                          grade
====  ============================================  ==============
52    大津波警報                                    major_warning
53    大津波警報：発表                              major_warning
51    津波警報                                      warning
62    津波注意報                                    advisory
71    津波予報（若干の海面変動）                    forecast
72    津波予報（若干の海面変動）〔警報解除後〕      forecast
73    津波予報（若干の海面変動）〔注意報解除後〕    forecast
00    津波なし                                      none
50    警報解除                                      none
60    津波注意報解除                                none
====  ============================================  ==============

An unknown code falls back to the Kind name (大津波 / 津波警報 / 注意報 / 予報), and if
even that fails the area keeps ``grade_name`` but no ``tsunami_grade``: we never
guess a *lower* grade than the document says.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from ..normalized import TSUNAMI_GRADE_RANK, NormalizedAlert
from .common import Head, children, iso_datetime, nfkc, text_of
from .seismic import earthquake_block

GRADE_BY_CODE = {
    "52": "major_warning",
    "53": "major_warning",
    "51": "warning",
    "62": "advisory",
    "71": "forecast",
    "72": "forecast",
    "73": "forecast",
    "00": "none",
    "50": "none",
    "60": "none",
}

SEVERITY_BY_GRADE = {
    "major_warning": "Extreme",
    "warning": "Severe",
    "advisory": "Moderate",
    "forecast": "Minor",
    "none": "Minor",
}


def grade_of(code: str | None, name: str | None) -> str | None:
    if code in GRADE_BY_CODE:
        return GRADE_BY_CODE[code]
    n = nfkc(name)
    if not n:
        return None
    if "解除" in n or "津波なし" in n:
        return "none"
    if "大津波" in n:
        return "major_warning"
    if "津波警報" in n:
        return "warning"
    if "注意報" in n:
        return "advisory"
    if "予報" in n:
        return "forecast"
    return None


def _height(el: etree._Element | None) -> dict[str, Any]:
    """jmx_eb:TsunamiHeight → ``{height_m, height_text, height_condition}``.
    NaN with description 巨大/高い is the most dangerous case: keep the words."""
    if el is None:
        return {}
    out: dict[str, Any] = {}
    raw = (el.text or "").strip()
    try:
        v = float(raw)
        out["height_m"] = None if v != v else v
    except ValueError:
        out["height_m"] = None
    desc = nfkc(el.get("description"))
    if desc:
        out["height_text"] = desc
    if el.get("condition"):
        out["height_condition"] = el.get("condition")
    if el.get("type"):
        out["height_type"] = el.get("type")
    return out


def _first_height(el: etree._Element | None) -> dict[str, Any]:
    if el is None:
        return {}
    out: dict[str, Any] = {}
    at = iso_datetime(text_of(el, "{*}ArrivalTime"))
    if at:
        out["first_arrival"] = at
    cond = text_of(el, "{*}Condition")
    if cond:
        out["first_condition"] = cond
    init = text_of(el, "{*}Initial")
    if init:
        out["first_initial"] = init
    rev = text_of(el, "{*}Revise")
    if rev:
        out["first_revise"] = rev
    return out


def _max_height(el: etree._Element | None) -> dict[str, Any]:
    if el is None:
        return {}
    out = {("max_" + k): v for k, v in _height(el.find("{*}TsunamiHeight")).items()}
    dt = iso_datetime(text_of(el, "{*}DateTime"))
    if dt:
        out["max_time"] = dt
    cond = text_of(el, "{*}Condition")
    if cond:
        out["max_condition"] = cond
    rev = text_of(el, "{*}Revise")
    if rev:
        out["max_revise"] = rev
    return out


def _stations(item: etree._Element) -> list[dict[str, Any]]:
    out = []
    for st in children(item, "Station"):
        s: dict[str, Any] = {"code": text_of(st, "{*}Code"), "name": text_of(st, "{*}Name")}
        ht = iso_datetime(text_of(st, "{*}HighTideDateTime"))
        if ht:
            s["high_tide"] = ht
        sensor = text_of(st, "{*}Sensor")
        if sensor:
            s["sensor"] = sensor
        s.update(_first_height(st.find("{*}FirstHeight")))
        s.update(_max_height(st.find("{*}MaxHeight")))
        out.append(s)
    return out


def _forecast_areas(fc: etree._Element) -> list[dict[str, Any]]:
    areas = []
    for item in children(fc, "Item"):
        area = item.find("{*}Area")
        if area is None:
            continue
        kind_code = text_of(item, "{*}Category/{*}Kind/{*}Code")
        kind_name = text_of(item, "{*}Category/{*}Kind/{*}Name")
        last_code = text_of(item, "{*}Category/{*}LastKind/{*}Code")
        last_name = text_of(item, "{*}Category/{*}LastKind/{*}Name")
        entry: dict[str, Any] = {
            "code": text_of(area, "{*}Code"),
            "name": text_of(area, "{*}Name"),
            "kind": "tsunami_area",
            "grade_name": kind_name,
            "grade_code": kind_code,
        }
        grade = grade_of(kind_code, kind_name)
        if grade:
            entry["tsunami_grade"] = grade
        last = grade_of(last_code, last_name)
        if last:
            entry["last_grade"] = last
        entry.update(_first_height(item.find("{*}FirstHeight")))
        entry.update(_max_height(item.find("{*}MaxHeight")))
        stations = _stations(item)
        if stations:
            entry["stations"] = stations
        areas.append(entry)
    return areas


def _station_areas(section: etree._Element, kind: str) -> list[dict[str, Any]]:
    """Observation / Estimation items: per area, observed or estimated heights."""
    out = []
    for item in children(section, "Item"):
        area = item.find("{*}Area")
        entry: dict[str, Any] = {
            "code": text_of(area, "{*}Code") if area is not None else None,
            "name": text_of(area, "{*}Name") if area is not None else None,
            "kind": kind,
        }
        entry.update(_first_height(item.find("{*}FirstHeight")))
        entry.update(_max_height(item.find("{*}MaxHeight")))
        st = _stations(item)
        if st:
            entry["stations"] = st
        out.append(entry)
    return out


def parse_tsunami(h: Head, file: str | None) -> NormalizedAlert:
    body = h.body
    tsu = body.find("{*}Tsunami") if body is not None and not h.is_cancel else None
    areas: list[dict[str, Any]] = []
    observations: list[dict[str, Any]] = []
    estimations: list[dict[str, Any]] = []
    if tsu is not None:
        fc = tsu.find("{*}Forecast")
        if fc is not None:
            areas = _forecast_areas(fc)
        obs = tsu.find("{*}Observation")
        if obs is not None:
            observations = _station_areas(obs, "tsunami_observation")
        est = tsu.find("{*}Estimation")
        if est is not None:
            estimations = _station_areas(est, "tsunami_estimation")
    grades = [a["tsunami_grade"] for a in areas if "tsunami_grade" in a]
    max_grade = max(grades, key=lambda g: TSUNAMI_GRADE_RANK[g]) if grades else None
    severity = SEVERITY_BY_GRADE.get(max_grade or "", "Minor")
    if not grades and (observations or estimations):
        # 津波観測/沖合観測 without forecast grades still mean a tsunami is under way.
        severity = "Severe"
    alert = h.new_alert(file=file, category="tsunami", severity=severity)
    # VTSE52 has only offshore estimates: those are the areas residents care about.
    alert.areas = areas or estimations
    if not h.is_cancel:
        alert.earthquake = earthquake_block(body)
        comments = [text_of(c, "{*}Text") or text_of(c) for c in (body.findall("{*}Comments/*") if body is not None else [])]
        comments = [c for c in comments if c]
        if comments:
            alert.text = "\n".join([t for t in [alert.text] if t] + comments)
    alert.tsunami = {
        "max_grade": max_grade,
        "observations": observations or None,
        "estimations": estimations or None,
    }
    return alert
