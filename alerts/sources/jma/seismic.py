"""Earthquake products: EEW (VXSE43/44/45), 震度速報 (VXSE51), 震源に関する情報
(VXSE52), 震源・震度に関する情報 (VXSE53) and the other seismology bodies.

Intensities are normalized to ``1 2 3 4 5- 5+ 6- 6+ 7``. Stations whose data has not
arrived yet (``震度５弱以上未入電``) keep that text in ``condition`` with intensity None:
the *absence* of a number there is itself a warning sign and must not read as "weak".
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from ..normalized import INTENSITY_RANK, NormalizedAlert, max_intensity, normalize_intensity
from .common import Head, children, iso_datetime, nfkc, parse_coordinate, parse_magnitude, text_of


def earthquake_block(body: etree._Element | None) -> dict[str, Any] | None:
    """Body/Earthquake → ``{origin_time, magnitude, magnitude_text, hypocenter{…}}``."""
    if body is None:
        return None
    eq = body.find("{*}Earthquake")
    if eq is None:
        return None
    hypo_area = eq.find("{*}Hypocenter/{*}Area")
    hypocenter: dict[str, Any] = {"name": None, "code": None, "lat": None, "lon": None, "depth_km": None}
    if hypo_area is not None:
        hypocenter["name"] = text_of(hypo_area, "{*}Name")
        hypocenter["code"] = text_of(hypo_area, "{*}Code")
        hypocenter.update(parse_coordinate(hypo_area.find("{*}Coordinate")))
        coord_el = hypo_area.find("{*}Coordinate")
        if coord_el is not None and coord_el.get("description"):
            hypocenter["description"] = nfkc(coord_el.get("description"))
        for k, tag in (("detailed_name", "DetailedName"), ("name_from_mark", "NameFromMark"), ("land_or_sea", "LandOrSea")):
            v = text_of(hypo_area, "{*}" + tag)
            if v:
                hypocenter[k] = v
    src = text_of(eq, "{*}Hypocenter/{*}Source")
    if src:
        hypocenter["source"] = src
    out: dict[str, Any] = {
        "origin_time": iso_datetime(text_of(eq, "{*}OriginTime")),
        "arrival_time": iso_datetime(text_of(eq, "{*}ArrivalTime")),
        "max_intensity": None,
        "hypocenter": hypocenter,
    }
    out.update(parse_magnitude(eq.find("{*}Magnitude")))
    cond = text_of(eq, "{*}Condition")  # e.g. 仮定震源要素 (EEW PLUM / assumed hypocentre)
    if cond:
        out["condition"] = cond
    return out


def _comments(body: etree._Element | None) -> list[str]:
    if body is None:
        return []
    out = []
    for c in body.findall("{*}Comments/*"):
        t = text_of(c, "{*}Text") or text_of(c)
        if t:
            out.append(t)
    return out


def _observation_areas(obs: etree._Element) -> tuple[list[dict[str, Any]], list[str]]:
    """Intensity/Observation → area entries at 細分区域 (``level: area``, 3-digit) and
    市町村 (``level: city``, 7-digit) granularity."""
    areas: list[dict[str, Any]] = []
    seen_ints: list[str] = []
    for pref in children(obs, "Pref"):
        pcode, pname = text_of(pref, "{*}Code"), text_of(pref, "{*}Name")
        for area in children(pref, "Area"):
            a = _intensity_entry(area, "area", pcode, pname)
            areas.append(a)
            if a["intensity"]:
                seen_ints.append(a["intensity"])
            for city in children(area, "City"):
                c = _intensity_entry(city, "city", pcode, pname)
                c["area_code"] = a["code"]
                areas.append(c)
                if c["intensity"]:
                    seen_ints.append(c["intensity"])
    return areas, seen_ints


def _intensity_entry(el: etree._Element, level: str, pcode: str | None, pname: str | None) -> dict[str, Any]:
    raw = text_of(el, "{*}MaxInt")
    entry: dict[str, Any] = {
        "code": text_of(el, "{*}Code"),
        "name": text_of(el, "{*}Name"),
        "kind": "seismic_" + level,
        "level": level,
        "intensity": normalize_intensity(raw),
        "pref_code": pcode,
        "pref_name": pname,
    }
    cond = text_of(el, "{*}Condition")
    if cond:
        entry["condition"] = cond
    elif raw and entry["intensity"] is None:
        entry["condition"] = raw
    rev = text_of(el, "{*}Revise")
    if rev:
        entry["revise"] = rev
    return entry


def _severity_for_intensity(mi: str | None) -> str:
    r = INTENSITY_RANK.get(mi or "", 0)
    if r >= INTENSITY_RANK["6-"]:
        return "Extreme"
    if r >= INTENSITY_RANK["5-"]:
        return "Severe"
    if r >= INTENSITY_RANK["3"]:
        return "Moderate"
    return "Minor"


def parse_earthquake_report(h: Head, file: str | None) -> NormalizedAlert:
    """VXSE51/52/53/61 and any seismology body with Earthquake and/or Intensity."""
    body = h.body
    eq = earthquake_block(body) if not h.is_cancel else None
    obs = body.find("{*}Intensity/{*}Observation") if body is not None and not h.is_cancel else None
    areas: list[dict[str, Any]] = []
    doc_max = None
    if obs is not None:
        areas, seen = _observation_areas(obs)
        doc_max = normalize_intensity(text_of(obs, "{*}MaxInt")) or max_intensity(seen)
    if eq is None and (obs is not None):
        eq = {"origin_time": None, "magnitude": None, "magnitude_text": None, "magnitude_type": None,
              "max_intensity": None, "hypocenter": None}
    if eq is not None:
        eq["max_intensity"] = doc_max
    severity = _severity_for_intensity(doc_max) if doc_max else "Minor"
    alert = h.new_alert(file=file, category="earthquake", severity=severity)
    alert.areas = areas
    alert.earthquake = eq
    comments = _comments(body)
    if comments and not h.is_cancel:
        alert.text = "\n".join([t for t in [alert.text] if t] + comments)
    return alert


def _forecast_int(el: etree._Element | None) -> tuple[str | None, str | None, str | None]:
    """EEW ForecastInt From/To → (from, to, effective). ``To = over`` means "From or
    more": the effective value is then From; otherwise the upper bound To."""
    if el is None:
        return None, None, None
    f_raw, t_raw = text_of(el, "{*}From"), text_of(el, "{*}To")
    f, t = normalize_intensity(f_raw), normalize_intensity(t_raw)
    eff = t or f
    return f, t, eff


def parse_eew(h: Head, file: str | None) -> NormalizedAlert:
    """緊急地震速報 VXSE43 (警報), VXSE44 (予報), VXSE45 (地震動予報)."""
    body = h.body
    title = h.title or ""
    is_warning_doc = "警報" in title
    eq = earthquake_block(body) if not h.is_cancel else None
    areas: list[dict[str, Any]] = []
    any_warning_area = False
    doc_max = None
    fc = body.find("{*}Intensity/{*}Forecast") if body is not None and not h.is_cancel else None
    if fc is not None:
        _, _, doc_max = _forecast_int(fc.find("{*}ForecastInt"))
        seen = []
        for pref in children(fc, "Pref"):
            pcode, pname = text_of(pref, "{*}Code"), text_of(pref, "{*}Name")
            for area in children(pref, "Area"):
                f, t, eff = _forecast_int(area.find("{*}ForecastInt"))
                kind_name = text_of(area, "{*}Category/{*}Kind/{*}Name")
                kind_code = text_of(area, "{*}Category/{*}Kind/{*}Code")
                # Kind code 1x = 警報 for this area (10 未到達, 11 既に到達, 19 PLUM…); 0x = 予報.
                warned = bool((kind_code or "").startswith("1") or "警報" in (kind_name or ""))
                any_warning_area |= warned
                entry: dict[str, Any] = {
                    "code": text_of(area, "{*}Code"),
                    "name": text_of(area, "{*}Name"),
                    "kind": "seismic_area",
                    "level": "area",
                    "intensity": eff,
                    "intensity_from": f,
                    "intensity_to": t,
                    "eew_warning": warned,
                    "eew_kind": kind_name,
                    "pref_code": pcode,
                    "pref_name": pname,
                    "arrival_time": iso_datetime(text_of(area, "{*}ArrivalTime")),
                }
                to_raw = text_of(area, "{*}ForecastInt/{*}To")
                if to_raw == "over":
                    entry["intensity_over"] = True
                cond = text_of(area, "{*}Condition")
                if cond:
                    entry["condition"] = cond
                lg = _forecast_int(area.find("{*}ForecastLgInt"))
                if lg[0] or lg[1]:
                    entry["lg_intensity_from"], entry["lg_intensity_to"] = text_of(area, "{*}ForecastLgInt/{*}From"), text_of(area, "{*}ForecastLgInt/{*}To")
                areas.append(entry)
                if eff:
                    seen.append(eff)
        doc_max = doc_max or max_intensity(seen)
    if eq is not None:
        eq["max_intensity"] = doc_max
    if is_warning_doc or any_warning_area:
        severity = "Extreme"
    else:
        severity = "Moderate" if INTENSITY_RANK.get(doc_max or "", 0) >= INTENSITY_RANK["4"] else "Minor"
    alert = h.new_alert(file=file, category="eew", severity=severity)
    alert.areas = areas
    alert.earthquake = eq
    next_adv = text_of(body, "{*}NextAdvisory") if body is not None else None
    alert.eew = {
        "is_warning": bool(is_warning_doc or any_warning_area),
        "serial": h.serial,
        "is_final": bool(next_adv and "最終報" in next_adv),
        "next_advisory": next_adv,
        "max_intensity": doc_max,
    }
    if h.title == "緊急地震速報配信テスト":
        # A distribution test is never a real alert, whatever Control/Status says.
        alert.is_drill = True
        alert.severity = "Minor"
        alert.eew["is_warning"] = False
    comments = _comments(body)
    if comments and not h.is_cancel:
        alert.text = "\n".join([t for t in [alert.text] if t] + comments)
    return alert


def parse_seismic_other(h: Head, file: str | None, category: str = "other", severity: str = "Minor") -> NormalizedAlert:
    """VXSE56/60/62, VYSE, VZSE…: head fields, hypocentre if any, areas from Head."""
    from .common import head_information_areas

    alert = h.new_alert(file=file, category=category, severity=severity)
    if not h.is_cancel:
        alert.earthquake = earthquake_block(h.body)
        alert.areas = [
            {k: v for k, v in a.items() if k != "warnings"} | {"kind": "info_area"} for a in head_information_areas(h)
        ]
        comments = _comments(h.body)
        if comments:
            alert.text = "\n".join([t for t in [alert.text] if t] + comments)
    return alert
