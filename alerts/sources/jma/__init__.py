"""JMA 防災情報XML → normalized alerts.

Dispatch is by Control/Title first (the product name JMA guarantees), then by the
body namespace and structure for titles we do not know — never by file name, which
is arbitrary in the wild. An unknown product still yields a fully populated generic
alert (category ``other``), not an error: new JMA products appear every few years.
"""

from __future__ import annotations

from lxml import etree

from ..normalized import NormalizedAlert
from .common import NS_MET, NS_SEIS, NS_VOL, Head, head_information_areas, nfkc
from .flood import parse_flood
from .info import parse_info
from .seismic import parse_earthquake_report, parse_eew, parse_seismic_other
from .tsunami import parse_tsunami
from .volcano import parse_volcano
from .weather import parse_weather

__all__ = ["parse_report"]


def _by_title(h: Head, file: str | None) -> NormalizedAlert | None:
    t = h.title or ""
    if t.startswith("緊急地震速報"):
        return parse_eew(h, file)
    if t in ("震度速報", "震源に関する情報", "震源・震度に関する情報", "顕著な地震の震源要素更新のお知らせ"):
        return parse_earthquake_report(h, file)
    if t.startswith("津波") or t == "沖合の津波観測に関する情報":
        return parse_tsunami(h, file)
    if t == "土砂災害警戒情報":
        return parse_weather(h, file, category="landslide")
    if t == "記録的短時間大雨情報":
        return parse_weather(h, file, category="heavy_rain")
    if t.startswith("竜巻注意情報"):
        return parse_weather(h, file, category="tornado")
    if t == "指定河川洪水予報":
        return parse_flood(h, file)
    if t.startswith("気象警報・注意報（Ｒ０６）（土砂）"):
        return parse_weather(h, file, category="landslide")
    if t.startswith("気象警報・注意報") or t.startswith("気象特別警報"):
        return parse_weather(h, file, category="weather_warning")
    if t.startswith("南海トラフ地震"):
        n = nfkc(h.head_title)
        sev = "Severe" if "巨大地震警戒" in n else "Moderate" if "巨大地震注意" in n else "Minor"
        return parse_seismic_other(h, file, category="earthquake", severity=sev)
    if h.body_ns == NS_VOL or "噴火" in t or "火山" in t or "降灰" in t or "噴煙" in t:
        return parse_volcano(h, file)
    return None


def _by_structure(h: Head, file: str | None) -> NormalizedAlert:
    body = h.body
    ns = h.body_ns or ""
    if body is not None:
        if ns.startswith(NS_SEIS.rsplit("1/", 1)[0]) or body.find("{*}Earthquake") is not None:
            if body.find("{*}Tsunami") is not None:
                return parse_tsunami(h, file)
            if body.find("{*}Intensity/{*}Forecast") is not None:
                return parse_eew(h, file)
            if body.find("{*}Intensity/{*}Observation") is not None or body.find("{*}Earthquake") is not None:
                return parse_earthquake_report(h, file)
            return parse_seismic_other(h, file)
        if ns.startswith(NS_VOL.rsplit("1/", 1)[0]) or body.find("{*}VolcanoInfo") is not None:
            return parse_volcano(h, file)
    return _generic(h, file)


def _generic(h: Head, file: str | None) -> NormalizedAlert:
    alert = h.new_alert(file=file, category="other", severity="Minor")
    if not h.is_cancel:
        alert.areas = [
            {k: v for k, v in a.items() if k != "warnings"} | {"kind": "info_area"} for a in head_information_areas(h)
        ]
    return alert


# Titles that are forecasts/explanations, not warnings: generic on purpose, even
# though their Body is meteorology (VPFD/VPFW forecasts, VPZJ/VPCJ/VPFJ 気象情報).
_GENERIC_TITLES = {"全般気象情報", "地方気象情報", "府県気象情報", "府県天気予報", "府県天気予報（Ｒ１）", "府県週間天気予報"}


def parse_report(root: etree._Element, file: str | None = None) -> list[NormalizedAlert]:
    h = Head(root)
    # info.py first: VYSE60, VXSE62, VPBS50, VXSU, VPTW, and 府県気象情報 only when it
    # carries 線状降水帯 wording (any other 府県気象情報 stays generic below).
    info = parse_info(h, file)
    if info is not None:
        return [info]
    if (h.title or "") in _GENERIC_TITLES:
        return [_generic(h, file)]
    alert = _by_title(h, file)
    if alert is None:
        if h.body_ns == NS_MET and h.body is not None and h.body.find("{*}Warning") is not None:
            alert = parse_weather(h, file, category="weather_warning")
        else:
            alert = _by_structure(h, file)
    return [alert]
