"""One document: what it says, per area, on the common danger scale."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Mapping

from alerts.facts.products import Product, _issued, group_key, product_of, serial_of
from alerts.facts.vocabulary import (
    INACTIVE_STATUSES, INFO_ONLY, INTENSITY_RANK, JST, LEVEL_ADVISORY, LEVEL_EMERGENCY, LEVEL_EVACUATE,
    LEVEL_WARNING, NOTHING, SEVERITY_LEVEL, SEVERITY_RANK, TSUNAMI_GRADE_RANK, TSUNAMI_LEVEL,
    UNRECEIVED_LOWER_BOUND, VOLCANO_ACTION, AreaFacts, intensity_level, nfkc,
)



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
        grade = max((g for g in grades if g in TSUNAMI_GRADE_RANK), key=lambda g: TSUNAMI_GRADE_RANK[g], default=None)
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
