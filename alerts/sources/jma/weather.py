"""Meteorology warning products: 気象警報・注意報 (VPWW50, VPWW53, VPWW54 and the
level-based R06 set VPWW55–61), 気象特別警報報知 (VPNO50), 土砂災害警戒情報 (VXWW50),
記録的短時間大雨情報 (VPOA50; its areas are the towns its headline names, see heavy_rain.py),
竜巻注意情報 (VPHW50/51).

All of these share one Body shape — ``Warning[@type]/Item/{Kind…, Area|Areas}`` — so
one walker serves them; the product only decides the category. Each Warning ``type``
is one area granularity (府県予報区, 一次細分, まとめ地域, 市町村等). ``areas`` holds the
finest granularity present (市町村等 = 7-digit city codes, what places are geocoded
to); coarser ones go to ``coarse_areas`` so matching ``areas`` never tells a resident
about a warning that applies to a different town in the same prefecture.

Per area, ``warnings: [{name, code, status, level?, significancy?}]`` where status is
JMA's own word (発表, 継続, 解除, 特別警報から警報, 警報から注意報, …). An area with
nothing in force has one entry ``{name: None, code: None, status: "発表警報・注意報はなし"}``.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from alerts import facts as alert_facts

from ..normalized import SEVERITY_RANK, NormalizedAlert, max_severity
from .common import Head, area_level_of_type, children, head_information_areas, nfkc, parse_level, text_of
from .heavy_rain import town_areas

# "Not in force here": the alert-facts model's vocabulary, defined once.
INACTIVE_STATUSES = alert_facts.INACTIVE_STATUSES
LEVEL_ORDER = ["city", "matome", "first", "pref", "other", "by_kind"]


def kind_severity(name: str | None, status: str | None) -> str:
    """Severity of one warning kind in force. 特別警報 → Extreme; 警報 (incl. R06
    危険警報) → Severe; 注意報 → Moderate; 竜巻注意情報 / 記録的短時間大雨 /
    土砂災害警戒 → Severe (each is issued when life is at risk)."""
    n = nfkc(name)
    if not n or (status in INACTIVE_STATUSES) or n in ("解除", "なし"):
        return "Minor"
    if "特別警報" in n:
        return "Extreme"
    if "警報" in n or n == "警戒" or "竜巻" in n or "記録的短時間大雨" in n or "土砂災害警戒" in n:
        return "Severe"
    if "注意報" in n:
        return "Moderate"
    return "Minor"


def _significancies(kind: etree._Element) -> list[dict[str, Any]]:
    """R06 危険度 (Property/SignificancyPart/…/Significancy): ``警戒レベル４相当`` etc."""
    out = []
    for prop in children(kind, "Property"):
        ptype = text_of(prop, "{*}Type")
        for sig in prop.iter("{*}Significancy"):
            name = text_of(sig, "{*}Name")
            entry: dict[str, Any] = {"type": sig.get("type") or ptype, "name": name, "code": text_of(sig, "{*}Code")}
            parent = sig.getparent()
            local_area = text_of(parent, "{*}AreaName") if parent is not None else None
            if local_area:
                entry["local_area"] = local_area
            lvl = parse_level(name)
            if lvl is not None:
                entry["level"] = lvl
            out.append(entry)
    return out


def _kind_entry(kind: etree._Element) -> dict[str, Any]:
    name = text_of(kind, "{*}Name")
    status = text_of(kind, "{*}Status")
    entry: dict[str, Any] = {"name": name, "code": text_of(kind, "{*}Code"), "status": status}
    cond = text_of(kind, "{*}Condition")
    if cond:
        entry["condition"] = cond  # e.g. 土砂災害、浸水害 attached to 大雨警報
    last = kind.find("{*}LastKind")
    if last is not None:
        entry["last_name"] = text_of(last, "{*}Name")
        entry["last_code"] = text_of(last, "{*}Code")
    lvl = parse_level(name)
    sigs = _significancies(kind)
    if sigs:
        entry["significancy"] = sigs
        if lvl is None and status not in INACTIVE_STATUSES:
            lvls = [s["level"] for s in sigs if "level" in s]
            lvl = max(lvls) if lvls else None
    if lvl is not None:
        entry["level"] = lvl
    return entry


def _item_areas(item: etree._Element) -> list[etree._Element]:
    direct = children(item, "Area")
    if direct:
        return direct
    out = []
    for areas in children(item, "Areas"):
        out.extend(children(areas, "Area"))
    return out


def warning_areas(body: etree._Element | None) -> dict[str, list[dict[str, Any]]]:
    """Body/Warning → {area level: [area dict]} with merged warnings per area code."""
    by_level: dict[str, dict[str, dict[str, Any]]] = {}
    if body is None:
        return {}
    for warning in children(body, "Warning"):
        level = area_level_of_type(warning.get("type"))
        bucket = by_level.setdefault(level, {})
        for item in children(warning, "Item"):
            kinds = [_kind_entry(k) for k in children(item, "Kind")]
            for area_el in _item_areas(item):
                code, name = text_of(area_el, "{*}Code"), text_of(area_el, "{*}Name")
                key = code or name or ""
                a = bucket.get(key)
                if a is None:
                    a = {"code": code, "name": name, "kind": "jma_" + level, "level": level, "warnings": []}
                    if warning.get("type"):
                        a["warning_type"] = warning.get("type")
                    bucket[key] = a
                a["warnings"].extend(dict(k) for k in kinds)
                for tag, key2 in (("ChangeStatus", "change_status"), ("FullStatus", "full_status")):
                    v = text_of(item, "{*}" + tag)
                    if v:
                        a[key2] = v
    return {lvl: list(b.values()) for lvl, b in by_level.items()}


def _finalize_area(a: dict[str, Any]) -> dict[str, Any]:
    ws = a.get("warnings") or []
    sev = max_severity((kind_severity(w.get("name"), w.get("status")) for w in ws), default="Minor")
    a["severity"] = sev
    lvls = [w["level"] for w in ws if "level" in w and w.get("status") not in INACTIVE_STATUSES]
    if lvls:
        a["max_level"] = max(lvls)
    a["in_force"] = [w["name"] for w in ws if w.get("name") and w.get("status") not in INACTIVE_STATUSES
                     and w.get("name") not in ("解除", "なし")]
    return a


def parse_weather(h: Head, file: str | None, category: str = "weather_warning") -> NormalizedAlert:
    levels = warning_areas(h.body) if not h.is_cancel else {}
    if not levels and not h.is_cancel:
        # VPNO50 and friends: only Head/Headline/Information carries areas.
        for a in head_information_areas(h):
            lvl = area_level_of_type(a.get("info_type"))
            a["level"] = lvl
            a["kind"] = "jma_" + lvl
            levels.setdefault(lvl, []).append(a)
    ordered = [lvl for lvl in LEVEL_ORDER if lvl in levels and lvl != "by_kind"]
    fine = ordered[0] if ordered else None
    areas = [_finalize_area(a) for a in levels.get(fine, [])] if fine else []
    coarse = [_finalize_area(a) for lvl in ordered[1:] for a in levels[lvl]]
    if category == "heavy_rain" and areas:
        # VPOA50: the towns its headline names, not its whole 発表細分 (see heavy_rain.py).
        towns = town_areas(h, areas)
        if towns:
            coarse = areas + coarse
            areas = [_finalize_area(t) for t in towns]

    sev_source = areas or coarse
    severity = max_severity((a["severity"] for a in sev_source), default="Minor")
    alert = h.new_alert(file=file, category=category, severity=severity)
    alert.areas = areas
    alert.coarse_areas = coarse or None
    lvls = [a["max_level"] for a in sev_source if "max_level" in a]
    if lvls:
        alert.level = max(lvls)
    elif category == "landslide" and SEVERITY_RANK[severity] >= SEVERITY_RANK["Severe"]:
        alert.level = 4  # 土砂災害警戒情報 is 警戒レベル４相当 by definition
    if h.title == "気象特別警報報知" and not h.is_cancel:
        alert.severity = max_severity([alert.severity, "Extreme"])
    return alert
