"""Volcano products (VFVO50 噴火警報・予報, 51 解説情報, 52 観測報, 53/54/55 降灰予報,
56 噴火速報, 60 噴煙流向報, VFSV 海上警報): category ``volcano``.

Body/VolcanoInfo[@type] items carry a Kind (警報 name, 噴火警戒レベル, condition
引上げ/引下げ/継続) and Areas: the volcano itself (火山名 code + coordinate) or
municipalities (7-digit codes). Areas are emitted per municipality (``kind: city``)
with their kinds, plus the volcano (``kind: volcano``, lat/lon). ``level`` is the
噴火警戒レベル when the document states one (a different scale from 警戒レベル; the
category tells them apart).
"""

from __future__ import annotations

from typing import Any

from ..normalized import NormalizedAlert, max_severity
from .common import Head, children, nfkc, parse_coordinate, parse_level, text_of


def kind_severity(name: str | None, level: int | None, title: str | None) -> str:
    n = nfkc(name)
    if (level or 0) >= 4 or "居住地域" in n or n in ("噴火警報", "噴火特別警報"):
        return "Extreme"
    if (level or 0) >= 2 or "火口周辺" in n or "入山" in n or "噴火速報" in n or "噴火速報" in nfkc(title):
        return "Severe"
    if "降灰" in n and ("多量" in n or "やや多量" in n):
        return "Moderate"
    return "Minor"


def parse_volcano(h: Head, file: str | None) -> NormalizedAlert:
    body = h.body
    areas: dict[str, dict[str, Any]] = {}
    volcanoes: list[dict[str, Any]] = []
    sevs: list[str] = []
    alert_level: int | None = None
    if body is not None and not h.is_cancel:
        for vi in children(body, "VolcanoInfo"):
            vtype = vi.get("type") or ""
            for item in children(vi, "Item"):
                k = item.find("{*}Kind")
                name = text_of(k, "{*}Name") if k is not None else None
                code = text_of(k, "{*}Code") if k is not None else None
                cond = text_of(k, "{*}Condition") if k is not None else None
                lk = item.find("{*}LastKind")
                lvl = parse_level(name)
                if lvl is not None and "対象火山" in vtype:
                    alert_level = max(alert_level or 0, lvl)
                sevs.append(kind_severity(name, lvl, h.title))
                w: dict[str, Any] = {"name": name, "code": code, "status": cond or "発表", "info_type": vtype}
                if lvl is not None:
                    w["level"] = lvl
                if lk is not None and text_of(lk, "{*}Name"):
                    w["last_name"] = text_of(lk, "{*}Name")
                for ars in children(item, "Areas"):
                    ctype = ars.get("codeType") or ""
                    for a in children(ars, "Area"):
                        acode, aname = text_of(a, "{*}Code"), text_of(a, "{*}Name")
                        if "市町村" not in ctype and "火山" in ctype:  # 火山名 (not 気象・地震・火山情報／市町村等)
                            v = {"code": acode, "name": aname, "kind": "volcano", "warnings": [w]}
                            v.update({k2: v2 for k2, v2 in parse_coordinate(a.find("{*}Coordinate")).items()
                                      if k2 in ("lat", "lon")})
                            if lvl is not None:
                                v["alert_level"] = lvl
                            volcanoes.append(v)
                            continue
                        key = acode or aname or ""
                        entry = areas.get(key)
                        if entry is None:
                            entry = {"code": acode, "name": aname, "kind": "city" if "市町村" in ctype else "area",
                                     "warnings": []}
                            areas[key] = entry
                        entry["warnings"].append(dict(w))
    severity = max_severity(sevs, default="Minor")
    alert = h.new_alert(file=file, category="volcano", severity=severity)
    alert.areas = volcanoes + list(areas.values())
    alert.level = alert_level
    if not h.is_cancel:
        alert.volcano = {
            "volcanoes": [{"code": v["code"], "name": v["name"], "lat": v.get("lat"), "lon": v.get("lon")} for v in volcanoes]
            or None,
            "alert_level": alert_level,
        }
        if body is not None:
            headline = text_of(body, "{*}VolcanoInfoContent/{*}VolcanoHeadline")
            if headline:
                alert.text = "\n".join([t for t in [alert.text, headline] if t])
    return alert
