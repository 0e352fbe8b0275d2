"""JMA products a Fukushima resident needs beyond warnings and quake reports.

=====================================  ==========  ============  ===========================================
product (Control/Title)                type_code   category      areas (kind, code) and level fields
=====================================  ==========  ============  ===========================================
北海道・三陸沖後発地震注意情報           VYSE60      earthquake    fixed list (``jma_city``, 7 digits):
                                                                  :data:`HOKKAIDO_SANRIKU_TARGET_CITIES`
長周期地震動に関する観測情報             VXSE62      earthquake    ``seismic_area`` (3 digits) with
                                                                  ``lpgm_class`` 0–4 and ``lpgm_stations``
府県気象防災速報 (線状降水帯発生 /        VPBS50      heavy_rain    線状降水帯: the named ``jma_first`` /
直前予測 / 記録的短時間大雨 / 大雪)                                  ``jma_matome`` / ``jma_pref`` (6 digits)
                                                                  plus observed ``jma_city`` (7); 記録雨:
                                                                  the towns, 細分区域 in ``coarse_areas``
府県気象情報 with 線状降水帯 wording      VPFJ50      heavy_rain    Fukushima area names found in the text
(顕著な大雨に関する気象情報, 半日前の                               (6 digits), else the prefecture
呼びかけ); others stay generic
水位周知河川に関する情報                 VXSU        flood         ``river_section`` / ``river`` (JMA river
                                                                  codes, target nobody) with ``level`` 2–5
                                                                  (0 lifted); 浸水想定地区 as flood.py does:
                                                                  ``city`` (7 digits, named whole) and
                                                                  ``flood_district`` (no place), ``level``
台風解析・予報情報（５日予報）（Ｈ３０）   VPTW        weather_      ``typhoon_zone`` (code None) per 暴風域 /
                                                    warning       暴風警戒域 circle; ``geometry`` = circles
=====================================  ==========  ============  ===========================================

Document-level extras (attributes beyond the dataclass fields, printed by ``to_dict``):
``heavy_rain_band`` (``observed`` | ``imminent`` | ``half_day``) and
``heavy_rain_band_forecast`` (true for the two forecasts) on VPBS50/VPFJ50;
``typhoon`` on VPTW; ``lpgm`` on VXSE62.

Formats: VXSE62 follows JMA's sample (78_01_01_240613). VYSE60, VPBS50, VXSU and VPTW were
written from JMA's published formats as other projects' parsers and tests show them (no
JMA sample in ../shared/reference; fixtures/cap/jma/ says what each follows). VXSU in
particular starts with the 2026 出水期; its Body is read by flood.py's ``inundation_areas``
(the layout 指定河川洪水予報 shares), so a town gets its own station's level where the 主文
name stations, else its river section's, else the document's.

噴火速報 (VFVO56) stays with ``volcano.py``: it already gives city entries with 7-digit
codes and category ``volcano``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from lxml import etree

from ..geometry import circle_to_ring, multipolygon
from ..normalized import NormalizedAlert, max_severity
from .common import Head, children, iso_datetime, nfkc, parse_coordinate, parse_level, text_of
from .flood import inundation_areas
from .seismic import earthquake_block, parse_earthquake_report

__all__ = ["parse_info", "HOKKAIDO_SANRIKU_TARGET_CITIES"]

# --- 北海道・三陸沖後発地震注意情報 (VYSE60) ------------------------------------------------

# The document names no area: the 防災対応をとるべき地域 are fixed in advance. Source:
# 内閣府「北海道・三陸沖後発地震注意情報発信時の防災対応ガイドライン」(運用開始 2022-12-16;
# 7 道県 182 市町村, where a tsunami of 3 m or more or 震度6弱 or more is assumed). In
# 福島県 they are exactly the 10 coastal municipalities below — the same 10 the
# prefecture named when the first VYSE60 was issued (2025-12-09: いわき・相馬・南相馬の
# 3市と広野・楢葉・富岡・大熊・双葉・浪江・新地の7町; reported by 福島中央テレビ and
# 福島民友). Not to be confused with the wider 推進地域 (41 municipalities in 福島県).
# Codes are JMA 二次細分 city codes (``XXXXX00`` = whole municipality), the same
# municipalities as the 津波予報区 福島県 (250) ones of fixtures/areas (a test keeps them equal).
HOKKAIDO_SANRIKU_TARGET_CITIES: tuple[tuple[str, str], ...] = (
    ("0720400", "いわき市"),
    ("0720900", "相馬市"),
    ("0721200", "南相馬市"),
    ("0754100", "広野町"),
    ("0754200", "楢葉町"),
    ("0754300", "富岡町"),
    ("0754500", "大熊町"),
    ("0754600", "双葉町"),
    ("0754700", "浪江町"),
    ("0756100", "新地町"),
)
# 「後発地震に注意する期間」: one week from the earthquake (the same guideline).
HOKKAIDO_SANRIKU_PERIOD = timedelta(days=7)


def parse_vyse60(h: Head, file: str | None) -> NormalizedAlert:
    alert = h.new_alert(file=file, category="earthquake", severity="Moderate")
    if h.is_cancel:
        return alert
    body = h.body
    alert.areas = [
        {"code": code, "name": name, "kind": "jma_city", "pref_name": "福島県", "target_basis": "防災対応をとるべき地域",
         "warnings": [{"name": "北海道・三陸沖後発地震注意情報", "status": h.info_type or "発表"}]}
        for code, name in HOKKAIDO_SANRIKU_TARGET_CITIES
    ]
    alert.earthquake = earthquake_block(body)
    texts = []
    if body is not None:
        for info in children(body, "EarthquakeInfo"):
            for tag in ("Text", "Appendix"):
                t = text_of(info, "{*}" + tag)
                if t:
                    texts.append(t)
        for c in body.findall("{*}Comment") + body.findall("{*}Comments/*"):
            t = text_of(c, "{*}Text")
            if t:
                texts.append(t)
        nxt = text_of(body, "{*}NextAdvisory")
        if nxt:
            texts.append(nxt)
    if texts:
        alert.text = "\n".join([t for t in [alert.text] if t] + texts)
    if alert.expires_at is None:
        start = (alert.earthquake or {}).get("origin_time") or alert.issued_at
        alert.expires_at = (datetime.fromisoformat(start) + HOKKAIDO_SANRIKU_PERIOD).isoformat()
    alert.parse_warnings.append("VYSE60 names no area: targets are the fixed Fukushima list (防災対応をとるべき地域)")
    return alert


# --- 長周期地震動に関する観測情報 (VXSE62) ------------------------------------------------

LPGM_SEVERITY = {4: "Extreme", 3: "Severe", 2: "Moderate", 1: "Minor", 0: "Minor"}


def _int(value: str | None) -> int | None:
    v = nfkc(value).strip()
    return int(v) if v.isdigit() else None


def parse_vxse62(h: Head, file: str | None) -> NormalizedAlert:
    """The earthquake report (intensities per 細分区域) plus 長周期地震動階級 per area:
    ``lpgm_class`` on each ``seismic_area`` entry, the stations inside it as
    ``lpgm_stations`` (station codes look like city codes, so they are not areas)."""
    alert = parse_earthquake_report(h, file)
    obs = h.body.find("{*}Intensity/{*}Observation") if h.body is not None and not h.is_cancel else None
    if obs is None:
        return alert
    by_key = {(a.get("pref_code"), a.get("code")): a for a in alert.areas if a.get("kind") == "seismic_area"}
    classes: list[int] = []
    for pref in children(obs, "Pref"):
        pcode = text_of(pref, "{*}Code")
        for area in children(pref, "Area"):
            entry = by_key.get((pcode, text_of(area, "{*}Code")))
            if entry is None:
                continue
            lg = _int(text_of(area, "{*}MaxLgInt"))
            entry["lpgm_class"] = lg
            if lg is not None:
                classes.append(lg)
            stations = []
            for st in children(area, "IntensityStation"):
                s = {"code": text_of(st, "{*}Code"), "name": text_of(st, "{*}Name"),
                     "lpgm_class": _int(text_of(st, "{*}LgInt"))}
                periods = {p.get("PeriodicBand"): _int(p.text) for p in children(st, "LgIntPerPeriod")}
                if periods:
                    s["lpgm_class_per_period"] = periods
                stations.append(s)
            if stations:
                entry["lpgm_stations"] = stations
    doc_max = _int(text_of(obs, "{*}MaxLgInt"))
    if doc_max is None and classes:
        doc_max = max(classes)
    alert.lpgm = {"max_lpgm_class": doc_max, "lg_category": text_of(obs, "{*}LgCategory")}  # type: ignore[attr-defined]
    if alert.earthquake is not None:
        alert.earthquake["max_lpgm_class"] = doc_max
    if doc_max is not None:
        alert.severity = max_severity([alert.severity, LPGM_SEVERITY.get(doc_max, "Minor")])
    return alert


# --- 線状降水帯: 府県気象防災速報 (VPBS50) and 府県気象情報 (VPFJ50) -----------------------

# 情報タグ Condition → (category, heavy_rain_band, severity).
BOSAI_SOKUHO_TAGS = {
    "線状降水帯発生": ("heavy_rain", "observed", "Severe"),
    "線状降水帯直前": ("heavy_rain", "imminent", "Moderate"),
    "記録雨": ("heavy_rain", None, "Severe"),
    "短時間大雪": ("weather_warning", None, "Moderate"),
    "顕著な大雪": ("weather_warning", None, "Moderate"),
}
# Head/Title sub-kinds 「…気象防災速報（線状降水帯直前予測）」 → the tag they stand for (a
# 取消 may carry no 情報タグ).
BOSAI_SOKUHO_TITLE_TAGS = {"線状降水帯発生": "線状降水帯発生", "線状降水帯直前予測": "線状降水帯直前",
                           "記録的短時間大雨": "記録雨", "短時間大雪": "短時間大雪", "顕著な大雪": "顕著な大雪"}


def _area_kind(code: str | None) -> str:
    c = code or ""
    if len(c) == 7:
        return "jma_city"
    if len(c) == 6:
        if c.endswith("0000"):
            return "jma_pref"
        return "jma_first" if c.endswith("0") else "jma_matome"
    return "info_area"


def _set_band(alert: NormalizedAlert, band: str | None) -> None:
    if band:
        alert.heavy_rain_band = band  # type: ignore[attr-defined]
        alert.heavy_rain_band_forecast = band in ("imminent", "half_day")  # type: ignore[attr-defined]


def parse_vpbs50(h: Head, file: str | None) -> NormalizedAlert:
    tags: list[str] = []
    areas: dict[str, dict[str, Any]] = {}
    if h.headline_el is not None:
        for info in children(h.headline_el, "Information"):
            for item in children(info, "Item"):
                conds = [nfkc(text_of(k, "{*}Condition")) for k in children(item, "Kind")]
                tags.extend(c for c in conds if c and c not in tags)
                for ars in children(item, "Areas"):
                    for a in children(ars, "Area"):
                        code, name = text_of(a, "{*}Code"), text_of(a, "{*}Name")
                        key = code or name or ""
                        e = areas.setdefault(key, {"code": code, "name": name, "kind": _area_kind(code),
                                                   "code_type": ars.get("codeType"), "warnings": []})
                        for c in conds:
                            if c and not any(w["name"] == c for w in e["warnings"]):
                                e["warnings"].append({"name": c, "status": "発表"})
    if not tags:  # no 情報タグ: the sub-kind is in the title, 「…気象防災速報（線状降水帯発生）」
        m = re.search(r"（([^）]+)）\s*$", nfkc(h.head_title).replace("(", "（").replace(")", "）"))
        if m:
            tags.append(BOSAI_SOKUHO_TITLE_TAGS.get(m.group(1), m.group(1)))
    known = [BOSAI_SOKUHO_TAGS[t] for t in tags if t in BOSAI_SOKUHO_TAGS]
    if known:
        rank = {"observed": 3, "imminent": 2, None: 1}
        category, band, _ = max(known, key=lambda k: (rank.get(k[1], 0), k[2] == "Severe"))
        severity = max_severity([k[2] for k in known])
    else:
        category, band, severity = "other", None, "Minor"
    alert = h.new_alert(file=file, category=category, severity=severity)
    _set_band(alert, band)  # a 取消 names the product it withdraws
    if h.is_cancel:
        return alert
    body = h.body
    if body is not None:  # 観測実況: cities (7 digits) where the rain was observed
        for mi in body.iter("{*}MeteorologicalInfo"):
            for item in children(mi, "Item"):
                for a in children(item, "Area"):
                    code, name = text_of(a, "{*}Code"), text_of(a, "{*}Name")
                    if code and code not in areas:
                        areas[code] = {"code": code, "name": name, "kind": _area_kind(code),
                                       "code_type": a.get("codeType"), "observed": True,
                                       "warnings": [{"name": t, "status": "発表"} for t in tags]}
    fine = [a for a in areas.values() if a["kind"] == "jma_city"]
    if band is None and fine:
        # 記録的短時間大雨 names the towns where it fell and their 細分区域 for context: the
        # towns are the areas (a whole 一次細分 would tell towns where it did not rain).
        alert.areas = fine
        alert.coarse_areas = [a for a in areas.values() if a["kind"] != "jma_city"] or None
    else:
        # 線状降水帯: the band covers the 細分区域 JMA names; observed towns are inside it.
        alert.areas = list(areas.values())
    unknown = [t for t in tags if t not in BOSAI_SOKUHO_TAGS]
    if unknown:
        alert.parse_warnings.append(f"unknown 気象防災速報 tag(s) {unknown!r:.80}")
    return alert


# Fukushima's 一次細分 / まとめ地域 names (JMA 府県予報区・細分区域 codes; the same as
# fixtures/areas): a 府県気象情報 carries them only in its text.
FUKUSHIMA_FORECAST_AREAS = (
    ("070011", "中通り北部"), ("070012", "中通り中部"), ("070013", "中通り南部"),
    ("070021", "浜通り北部"), ("070022", "浜通り中部"), ("070023", "浜通り南部"),
    ("070031", "会津北部"), ("070032", "会津中部"), ("070033", "会津南部"),
    ("070010", "中通り"), ("070020", "浜通り"), ("070030", "会津"),
)
FUKUSHIMA_PREF = ("070000", "福島県")

_BAND_OBSERVED_RE = re.compile(r"線状降水帯による非常に激しい雨が同じ場所で降り続いて|線状降水帯が発生")
_BAND_FORECAST_RE = re.compile(r"線状降水帯[^。]{0,40}(可能性|おそれ|恐れ|予想|見込み)")


def vpfj50_band(h: Head) -> str | None:
    """``observed`` for 顕著な大雨に関する気象情報, ``half_day`` for the advance call
    (「線状降水帯が発生して…危険度が急激に高まる可能性」), else None."""
    title = nfkc(h.head_title)
    text = nfkc(" ".join(t for t in (h.headline_text, text_of(h.body, "{*}Comment/{*}Text") if h.body is not None
                                     else None) if t))
    if "顕著な大雨" in title:
        return "observed"
    if "線状降水帯" not in text:
        return None
    if _BAND_OBSERVED_RE.search(nfkc(h.headline_text)) and not _BAND_FORECAST_RE.search(nfkc(h.headline_text)):
        return "observed"
    if _BAND_FORECAST_RE.search(text):
        return "half_day"
    return None


def parse_vpfj50_band(h: Head, file: str | None, band: str) -> NormalizedAlert:
    severity = "Severe" if band == "observed" else "Moderate"
    alert = h.new_alert(file=file, category="heavy_rain", severity=severity)
    _set_band(alert, band)
    if h.is_cancel:
        return alert
    body_text = text_of(h.body, "{*}Comment/{*}Text") if h.body is not None else None
    if body_text:
        alert.text = "\n".join(t for t in (alert.text, body_text) if t)
    where = nfkc(h.headline_text) or nfkc(body_text)
    areas: list[dict[str, Any]] = []
    if "福島県" in nfkc(h.head_title) or "福島" in nfkc(h.editorial_office):
        named = []
        for code, name in FUKUSHIMA_FORECAST_AREAS:
            if name in where and not any(name in n for _, n in named):  # 浜通り北部 wins over 浜通り
                named.append((code, name))
        if not named:
            named = [FUKUSHIMA_PREF]
        areas = [{"code": c, "name": n, "kind": _area_kind(c), "warnings": [{"name": "線状降水帯", "status": "発表"}]}
                 for c, n in named]
    else:
        areas = [{"code": None, "name": h.head_title, "kind": "info_area"}]
        alert.parse_warnings.append("府県気象情報 outside Fukushima: areas are not coded")
    alert.areas = areas
    return alert


# --- 水位周知河川に関する情報 (VXSU50–59) -----------------------------------------------------

# Kind code → 警戒レベル, as for 指定河川洪水予報 (flood.py): 10 解除 → 0, 2x 氾濫注意,
# 3x 氾濫警戒, 4x 氾濫危険, 5x 氾濫発生; R08 names say it outright (レベル２氾濫注意報 …).
RIVER_LEVEL_BY_FIRST_DIGIT = {"1": 0, "2": 2, "3": 3, "4": 4, "5": 5}
RIVER_SEVERITY = {5: "Extreme", 4: "Severe", 3: "Severe", 2: "Moderate"}


def _river_level(name: str | None, code: str | None) -> int | None:
    """Level of a Headline kind: 0 for 解除 (checked first: 「レベル２氾濫注意報解除」 lifts)."""
    n = nfkc(name)
    c = (code or "").strip()
    if "解除" in n or c == "10":
        return 0
    lvl = parse_level(n)
    if lvl is not None:
        return lvl
    for word, v in (("氾濫発生", 5), ("氾濫特別", 5), ("氾濫危険", 4), ("氾濫警戒", 3), ("氾濫注意", 2)):
        if word in n:
            return v
    return RIVER_LEVEL_BY_FIRST_DIGIT.get(c[:1]) if len(c) == 2 else None


def _status(cond: str | None, level: int | None) -> str:
    """JMA's status word: 「レベル３氾濫警報（継続）」 → 継続; a lift is always 解除."""
    if level == 0:
        return "解除"
    c = nfkc(cond)
    m = re.search(r"（([^）]+)）\s*$", c.replace("(", "（").replace(")", "）"))
    return m.group(1) if m else "発表"


def parse_vxsu(h: Head, file: str | None) -> NormalizedAlert:
    """River sections from Head/Headline/Information (発表区間 / 予報区域 → ``river_section``,
    河川 → ``river``) with their kind and ``level`` (0 = lifted); the towns and districts of
    the 浸水想定地区 by the same rules as 指定河川洪水予報 (:func:`flood.inundation_areas`:
    a town named whole is a ``city`` area, one named only by districts gets
    ``flood_district`` entries that target no place; each at its own station's level)."""
    sections: list[dict[str, Any]] = []
    levels: list[int] = []
    if not h.is_cancel and h.headline_el is not None:
        for info in children(h.headline_el, "Information"):
            itype = info.get("type") or ""
            if "府県予報区" in itype:
                continue  # the prefecture is named for routing, not as the flooded area
            scope = "river" if itype.endswith("（河川）") else "river_section"
            for item in children(info, "Item"):
                ws = []
                for k in children(item, "Kind"):
                    name, code = text_of(k, "{*}Name"), text_of(k, "{*}Code")
                    lvl = _river_level(name, code)
                    cond = text_of(k, "{*}Condition")
                    w: dict[str, Any] = {"name": name, "code": code, "status": _status(cond, lvl)}
                    if cond:
                        w["condition"] = cond
                    if lvl is not None:
                        w["level"] = lvl
                        levels.append(lvl)
                    ws.append(w)
                item_level = max((w["level"] for w in ws if "level" in w), default=None)
                for ars in children(item, "Areas"):
                    for a in children(ars, "Area"):
                        e: dict[str, Any] = {"code": text_of(a, "{*}Code"), "name": text_of(a, "{*}Name"),
                                             "kind": scope, "info_type": itype, "warnings": [dict(w) for w in ws]}
                        if item_level is not None:
                            e["level"] = item_level
                        sections.append(e)
    doc_level = max(levels) if levels else None
    r08 = any(nfkc(w.get("name")).startswith("レベル") for s in sections for w in s["warnings"])
    towns, texts = ([], []) if h.is_cancel else inundation_areas(h.body, sections, r08=r08)
    alert = h.new_alert(file=file, category="flood", severity=RIVER_SEVERITY.get(doc_level or 0, "Minor"))
    alert.areas = [*sections, *towns]
    alert.level = doc_level if not h.is_cancel else None
    if texts:
        alert.text = "\n".join([t for t in [alert.text] if t] + texts)
    if not h.is_cancel and not towns:
        alert.parse_warnings.append("水位周知河川: no 浸水想定地区 in the document; river codes target nobody")
    return alert


# --- 台風解析・予報情報 (VPTW60–65) -------------------------------------------------------------

STORM_ZONES = ("暴風域", "暴風警戒域")
# A real VPTW has the analysis and at most ~8 forecast times; more circles than this are
# not a typhoon bulletin but a document built to make us draw polygons.
MAX_STORM_CIRCLES = 32


def _radius_km(circle: etree._Element) -> float | None:
    """Largest radius of a circle (``Axes/Axis/Radius``, km; nautical miles converted):
    a lopsided circle is drawn round its longest side, so nobody inside is left out."""
    best = None
    for r in circle.iter("{*}Radius"):
        try:
            v = float(nfkc(r.text).strip())
        except ValueError:
            continue
        unit = (r.get("unit") or "km").lower()
        if unit in ("海里", "nm", "kt"):
            v *= 1.852
        elif unit != "km":
            continue
        best = v if best is None else max(best, v)
    return best


def parse_vptw(h: Head, file: str | None) -> NormalizedAlert:
    alert = h.new_alert(file=file, category="weather_warning", severity="Minor")
    if h.is_cancel or h.body is None:
        return alert
    typhoon: dict[str, Any] = {"positions": []}
    areas: list[dict[str, Any]] = []
    rings = []
    for mi in h.body.iter("{*}MeteorologicalInfo"):
        dt_el = mi.find("{*}DateTime")
        when = iso_datetime(text_of(dt_el)) if dt_el is not None else None
        when_type = nfkc(dt_el.get("type")) if dt_el is not None else None
        name_part = next(mi.iter("{*}TyphoonNamePart"), None)
        if name_part is not None and "name" not in typhoon:
            typhoon.update(name=text_of(name_part, "{*}Name"), name_kana=text_of(name_part, "{*}NameKana"),
                           number=text_of(name_part, "{*}Number"), remark=text_of(name_part, "{*}Remark"))
        center = next(mi.iter("{*}CenterPart"), None)
        lat = lon = None
        if center is not None:
            coord = None
            for c in center.iter("{*}Coordinate", "{*}BasePoint"):
                if "度" in (c.get("type") or "度"):
                    coord = c
                    break
            pos = parse_coordinate(coord)
            lat, lon = pos["lat"], pos["lon"]
            p: dict[str, Any] = {"time": when, "type": when_type, "lat": lat, "lon": lon,
                                 "location": text_of(center, "{*}Location")}
            pressure = next(center.iter("{*}Pressure"), None)
            if pressure is not None and text_of(pressure):
                p["pressure_hpa"] = text_of(pressure)
            cls = next(mi.iter("{*}TyphoonClass"), None)
            if cls is not None:
                p["class"] = text_of(cls)
            for wind in mi.iter("{*}WindSpeed"):
                if wind.get("type") == "最大風速" and wind.get("unit") == "m/s" and text_of(wind):
                    p["max_wind_ms"] = text_of(wind)
                    break
            typhoon["positions"].append(p)
        for zone in mi.iter("{*}WarningAreaPart"):
            ztype = nfkc(zone.get("type"))
            if ztype not in STORM_ZONES:
                continue
            circle = next(zone.iter("{*}Circle"), zone)
            base = next(circle.iter("{*}BasePoint"), None)
            cpos = parse_coordinate(base) if base is not None else {"lat": lat, "lon": lon}
            radius = _radius_km(circle)
            if cpos["lat"] is None or cpos["lon"] is None or not radius:
                continue
            if len(rings) >= MAX_STORM_CIRCLES:
                if not any("storm circles" in w for w in alert.parse_warnings):
                    alert.parse_warnings.append(f"more than {MAX_STORM_CIRCLES} storm circles; the rest ignored")
                continue
            areas.append({"code": None, "name": f"{ztype}（{when_type or ''}）", "kind": "typhoon_zone",
                          "zone": ztype, "valid_at": when, "lat": cpos["lat"], "lon": cpos["lon"],
                          "radius_km": radius})
            rings.append(circle_to_ring(cpos["lat"], cpos["lon"], radius))
    alert.areas = areas
    alert.geometry = multipolygon(rings)
    if areas:
        alert.severity = "Moderate"
    alert.typhoon = typhoon  # type: ignore[attr-defined]
    return alert


# --- dispatch ---------------------------------------------------------------------------------


def parse_info(h: Head, file: str | None) -> NormalizedAlert | None:
    """The alert for a product of this module, or None for any other document."""
    t = h.title or ""
    if t == "北海道・三陸沖後発地震注意情報":
        return parse_vyse60(h, file)
    if t == "長周期地震動に関する観測情報":
        return parse_vxse62(h, file)
    if t == "府県気象防災速報":
        return parse_vpbs50(h, file)
    if t == "水位周知河川に関する情報":
        return parse_vxsu(h, file)
    if t.startswith("台風解析・予報情報"):
        return parse_vptw(h, file)
    if t == "府県気象情報":
        band = vpfj50_band(h)
        if band is not None:
            return parse_vpfj50_band(h, file, band)
    return None
