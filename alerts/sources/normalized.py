"""The normalized alert: the contract between the sources and the rest of the system.

See docs/ARCHITECTURE.md, "Normalized alert". Every parser (JMA, CAP) returns
:class:`NormalizedAlert`; ``to_dict()`` is what ``bousai parse`` prints and what the
ingest path stores. Vocabularies live here so one place says what a valid value is;
:func:`validate_alert_dict` checks a dict against them (tests and the ingest path use it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alerts import facts as alert_facts

SOURCES = frozenset({"jma", "cap"})
MSG_TYPES = frozenset({"alert", "update", "cancel"})
CATEGORIES = frozenset(
    {
        "earthquake",
        "eew",
        "tsunami",
        "weather_warning",
        "landslide",
        "flood",
        "heavy_rain",
        "tornado",
        "volcano",
        "evacuation",
        "shelter",
        "civil_protection",
        "other",
    }
)
# The vocabularies are the alert-facts model's (defined once, in alerts.facts).
SEVERITIES, SEVERITY_RANK = alert_facts.SEVERITIES, alert_facts.SEVERITY_RANK
TSUNAMI_GRADES, TSUNAMI_GRADE_RANK = alert_facts.TSUNAMI_GRADES, alert_facts.TSUNAMI_GRADE_RANK
INTENSITIES, INTENSITY_RANK = alert_facts.INTENSITIES, alert_facts.INTENSITY_RANK
normalize_intensity = alert_facts.normalize_intensity
nfkc = alert_facts.nfkc

REQUIRED_KEYS = (
    "source",
    "file",
    "msg_type",
    "event_id",
    "source_id",
    "issued_at",
    "category",
    "headline",
    "severity",
    "expires_at",
    "areas",
    "geometry",
    "status",
    "is_drill",
)


def max_intensity(values) -> str | None:
    best = None
    for v in values:
        if v in INTENSITY_RANK and (best is None or INTENSITY_RANK[v] > INTENSITY_RANK[best]):
            best = v
    return best


def max_severity(values, default: str = "Minor") -> str:
    best = None
    for v in values:
        if v in SEVERITY_RANK and (best is None or SEVERITY_RANK[v] > SEVERITY_RANK[best]):
            best = v
    return best or default


@dataclass
class NormalizedAlert:
    source: str
    file: str | None
    msg_type: str
    event_id: str | None
    source_id: str
    issued_at: str
    category: str
    headline: str | None
    severity: str
    expires_at: str | None = None
    areas: list[dict[str, Any]] = field(default_factory=list)
    geometry: dict[str, Any] | None = None
    # Raw status word (JMA Control/Status 通常/訓練/試験; CAP Actual/Exercise/Test/System/Draft)
    # and the flag everything downstream must honour: a drill is never a real alert.
    status: str | None = None
    is_drill: bool = False
    title: str | None = None
    info_kind: str | None = None
    type_code: str | None = None
    text: str | None = None
    # 警戒レベル (resident action level): evacuation 3/4/5 (0 = 解除); JMA level-equivalent
    # where JMA defines one (土砂災害警戒情報 4, 指定河川洪水予報 2–5, R06 warnings);
    # for volcano the 噴火警戒レベル 1–5 (see docs in CAP_PROFILE.md / module docs).
    level: int | None = None
    earthquake: dict[str, Any] | None = None
    tsunami: dict[str, Any] | None = None
    volcano: dict[str, Any] | None = None
    eew: dict[str, Any] | None = None
    shelters: list[dict[str, Any]] | None = None
    infos: list[dict[str, Any]] | None = None
    references: list[dict[str, Any]] | None = None
    circles: list[dict[str, Any]] | None = None
    # Areas at coarser levels than ``areas`` (e.g. 府県予報区 / 一次細分 for weather
    # warnings). Kept apart so matching on ``areas`` never over-notifies.
    coarse_areas: list[dict[str, Any]] | None = None
    info_type: str | None = None
    serial: str | None = None
    sender: str | None = None
    event_id_derived: bool = False
    parse_warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        for k, v in self.__dict__.items():
            if k in REQUIRED_KEYS or not (v is None or v is False or (isinstance(v, list) and not v)):
                d[k] = v
        d["is_drill"] = self.is_drill
        return d


def _is_iso_with_offset(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return False
    return dt.tzinfo is not None and dt.utcoffset() is not None


_INT_KEYS = ("intensity", "intensity_from", "intensity_to")


def validate_alert_dict(d: dict[str, Any]) -> list[str]:
    """Problems with an alert dict against the contract; empty list = valid."""
    problems: list[str] = []
    for k in REQUIRED_KEYS:
        if k not in d:
            problems.append(f"missing key {k}")
    if d.get("source") not in SOURCES:
        problems.append(f"bad source {d.get('source')!r}")
    if d.get("msg_type") not in MSG_TYPES:
        problems.append(f"bad msg_type {d.get('msg_type')!r}")
    if d.get("category") not in CATEGORIES:
        problems.append(f"bad category {d.get('category')!r}")
    if d.get("severity") not in SEVERITY_RANK:
        problems.append(f"bad severity {d.get('severity')!r}")
    if not _is_iso_with_offset(d.get("issued_at")):
        problems.append(f"issued_at without offset {d.get('issued_at')!r}")
    if d.get("expires_at") is not None and not _is_iso_with_offset(d.get("expires_at")):
        problems.append(f"expires_at without offset {d.get('expires_at')!r}")
    if not d.get("source_id"):
        problems.append("empty source_id")
    if not isinstance(d.get("is_drill"), bool):
        problems.append("is_drill not bool")
    areas = d.get("areas")
    if not isinstance(areas, list):
        problems.append("areas not a list")
        areas = []
    for a in areas + list(d.get("coarse_areas") or []):
        if not isinstance(a, dict) or "code" not in a or "name" not in a:
            problems.append(f"area without code/name: {a!r:.80}")
            continue
        for k in _INT_KEYS:
            if a.get(k) is not None and a[k] not in INTENSITY_RANK:
                problems.append(f"bad intensity {a[k]!r} in area {a.get('code')}")
        if "tsunami_grade" in a and a["tsunami_grade"] not in TSUNAMI_GRADE_RANK:
            problems.append(f"bad tsunami_grade {a['tsunami_grade']!r}")
        for w in a.get("warnings") or []:
            if not isinstance(w, dict) or "status" not in w or "name" not in w:
                problems.append(f"bad warning entry in area {a.get('code')}")
    eq = d.get("earthquake")
    if eq is not None:
        mi = eq.get("max_intensity")
        if mi is not None and mi not in INTENSITY_RANK:
            problems.append(f"bad max_intensity {mi!r}")
        mag = eq.get("magnitude")
        if mag is not None and not isinstance(mag, (int, float)):
            problems.append("magnitude not a number")
    geom = d.get("geometry")
    if geom is not None and (not isinstance(geom, dict) or "type" not in geom):
        problems.append("geometry is not GeoJSON")
    lvl = d.get("level")
    if lvl is not None and not isinstance(lvl, int):
        problems.append("level not an int")
    return problems

