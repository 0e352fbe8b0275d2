"""GSI 指定緊急避難場所・指定避難所 GeoJSON → one ``ShelterRecord`` per facility.

GSI publishes two lists per municipality: emergency sites (where to flee, flagged per
hazard) and evacuation centres (where to stay). Many facilities appear in both, and a
resident must see them once, with both flags. How the two are matched:

* GSI's 共通ID is ``E`` + 5-digit municipality code + 5-digit facility number + a
  3-digit list/site suffix (``E0720100004201`` emergency, ``E0720100004111``
  evacuation). The facility number is shared by the two entries of one facility; in
  the Fukushima data it agrees exactly with the 「住所同一」 flags (1,048 of 1,048).
* The two points of one facility are often 50–300 m apart (the school building for
  the evacuation centre, its schoolyard 「屋外運動場」 for the emergency site), so the
  brief's 50 m rule alone would split ~100 schools in two. With a shared facility
  number we therefore merge when the names or addresses agree, or the points are
  within 50 m — and never beyond ``FACILITY_MERGE_MAX_M``, where one of the two points
  must be wrong and keeping both shows residents both.
* Without a shared facility number (other sources), only the same normalized name in
  the same municipality within ``NAME_MERGE_MAX_M`` merges.

The merged row keeps the evacuation centre's name and point (the building people stay
in, where occupancy is counted) and the emergency site's hazards; a differing
emergency-site name goes into notes.
"""

from __future__ import annotations

import json
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from geo.shelters.records import (
    ShelterRecord,
    derived_id,
    distance_m,
    normalize_municipality_code,
    normalize_name,
    order_hazards,
)

# GSI property name → project hazard name (GSI's column order).
GSI_HAZARD_COLUMNS = {
    "洪水": "flood",
    "崖崩れ、土石流及び地滑り": "landslide",
    "高潮": "storm_surge",
    "地震": "earthquake",
    "津波": "tsunami",
    "大規模な火事": "large_fire",
    "内水氾濫": "inland_flood",
    "火山現象": "volcano",
}

# Same name, same municipality, no facility link: the brief's proximity rule.
NAME_MERGE_MAX_M = 50.0
# Same GSI facility: building and schoolyard are up to ~300 m apart in the real data;
# the two >1.7 km pairs (郡山市 三和小学校, 三穂田中学校) are coordinate errors.
FACILITY_MERGE_MAX_M = 500.0


@dataclass
class GsiEntry:
    kind: str  # "emergency" | "evacuation"
    common_id: str | None
    municipality_code: str
    name: str
    address: str | None
    lat: float
    lon: float
    hazards: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def facility_key(self) -> str | None:
        cid = self.common_id or ""
        return cid[1:11] if len(cid) >= 11 and cid[1:11].isdigit() else None


@dataclass
class MergeStats:
    emergency: int = 0
    evacuation: int = 0
    merged: int = 0
    merged_by_facility_far: int = 0  # merged although > NAME_MERGE_MAX_M apart
    facility_not_merged: int = 0  # shared facility number but rejected (too far / different place)

    @property
    def shelters(self) -> int:
        return self.emergency + self.evacuation - self.merged


def _s(v) -> str:
    return "" if v is None else unicodedata.normalize("NFKC", str(v)).strip()


def _flag(v) -> bool:
    return _s(v) in {"1", "1.0", "○", "◯", "〇", "TRUE", "true"}


def parse_feature(feature: dict, *, kind: str | None = None, municipality_code: str | None = None) -> GsiEntry | None:
    """One GeoJSON feature → GsiEntry, or None when it has no usable point or name."""
    props = feature.get("properties") or {}
    geom = feature.get("geometry") or {}
    if geom.get("type") != "Point":
        return None
    try:
        lon, lat = (float(c) for c in geom["coordinates"][:2])
    except (KeyError, TypeError, ValueError):
        return None
    name = (props.get("施設・場所名") or "").strip()
    if not name:
        return None
    if kind is None:
        kind = "emergency" if "洪水" in props else "evacuation"
    cid = (props.get("共通ID") or "").strip() or None
    code = normalize_municipality_code(municipality_code)
    if code is None and cid and len(cid) >= 6:
        code = normalize_municipality_code(cid[1:6])
    if code is None:
        return None
    hazards = order_hazards(h for col, h in GSI_HAZARD_COLUMNS.items() if _flag(props.get(col)))
    notes = []
    if _s(props.get("備考")):
        notes.append(_s(props.get("備考")))
    if kind == "evacuation":
        # 要配慮者 etc.: a welfare shelter (福祉避難所) — residents must know who it takes.
        if _s(props.get("受入対象者")):
            notes.append("受入対象者: " + _s(props.get("受入対象者")))
        if _s(props.get("その他市町村長が必要と認める事項")):
            notes.append(_s(props.get("その他市町村長が必要と認める事項")))
    return GsiEntry(
        kind=kind,
        common_id=cid,
        municipality_code=code,
        name=name,
        address=(props.get("住所") or "").strip() or None,
        lat=lat,
        lon=lon,
        hazards=hazards,
        notes=notes,
    )


def read_gsi_file(path: Path, kind: str | None = None) -> list[GsiEntry]:
    """A GSI GeoJSON FeatureCollection; the municipality comes from the file name when it is a code."""
    data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    stem_code = normalize_municipality_code(Path(path).stem)
    out = []
    for f in data.get("features") or []:
        e = parse_feature(f, kind=kind, municipality_code=stem_code)
        if e is not None:
            out.append(e)
    return out


def _record_id(e: GsiEntry) -> str:
    if e.common_id:
        return f"gsi:{e.common_id}"
    return derived_id("gsi", e.municipality_code, e.name, e.lat, e.lon)


def _to_record(e: GsiEntry) -> ShelterRecord:
    return ShelterRecord(
        id=_record_id(e),
        name=e.name,
        municipality_code=e.municipality_code,
        lat=e.lat,
        lon=e.lon,
        source="gsi",
        address=e.address,
        is_emergency_site=e.kind == "emergency",
        is_evacuation_center=e.kind == "evacuation",
        hazards=list(e.hazards),
        notes="\n".join(e.notes) or None,
    )


def _acceptable(ev: GsiEntry, em: GsiEntry) -> tuple[bool, float]:
    d = distance_m(ev.lat, ev.lon, em.lat, em.lon)
    same_name = normalize_name(ev.name) == normalize_name(em.name)
    if ev.facility_key and ev.facility_key == em.facility_key:
        same_addr = bool(ev.address) and normalize_name(ev.address) == normalize_name(em.address or "")
        return (same_name or same_addr or d < NAME_MERGE_MAX_M) and d < FACILITY_MERGE_MAX_M, d
    return same_name and ev.municipality_code == em.municipality_code and d < NAME_MERGE_MAX_M, d


def merge_entries(emergency: list[GsiEntry], evacuation: list[GsiEntry]) -> tuple[list[ShelterRecord], MergeStats]:
    """One record per facility; deterministic (inputs are visited in 共通ID / name order)."""
    stats = MergeStats(emergency=len(emergency), evacuation=len(evacuation))
    by_facility: dict[str, list[GsiEntry]] = defaultdict(list)
    by_name: dict[tuple[str, str], list[GsiEntry]] = defaultdict(list)
    for em in emergency:
        if em.facility_key:
            by_facility[em.facility_key].append(em)
        by_name[(em.municipality_code, normalize_name(em.name))].append(em)
    used: set[int] = set()
    records: list[ShelterRecord] = []

    def sort_key(e: GsiEntry):
        return (e.municipality_code, e.common_id or "", e.name, e.lat, e.lon)

    for ev in sorted(evacuation, key=sort_key):
        candidates = {id(c): c for c in by_facility.get(ev.facility_key or "", [])}
        candidates.update({id(c): c for c in by_name.get((ev.municipality_code, normalize_name(ev.name)), [])})
        best, best_rank = None, None
        shared_facility = False
        for c in candidates.values():
            if id(c) in used:
                continue
            shared_facility |= bool(ev.facility_key) and c.facility_key == ev.facility_key
            ok, d = _acceptable(ev, c)
            if not ok:
                continue
            rank = (normalize_name(c.name) != normalize_name(ev.name), d, c.common_id or "")
            if best_rank is None or rank < best_rank:
                best, best_rank = c, rank
        rec = _to_record(ev)
        if best is None:
            if shared_facility:
                stats.facility_not_merged += 1
            records.append(rec)
            continue
        used.add(id(best))
        stats.merged += 1
        if best_rank[1] >= NAME_MERGE_MAX_M:
            stats.merged_by_facility_far += 1
        rec.is_emergency_site = True
        rec.hazards = list(best.hazards)
        rec.address = rec.address or best.address
        notes = list(best.notes) + [n for n in ev.notes if n not in best.notes]
        if normalize_name(best.name) != normalize_name(ev.name):
            notes.insert(0, f"指定緊急避難場所: {best.name}")
        rec.notes = "\n".join(notes) or None
        records.append(rec)
    for em in sorted(emergency, key=sort_key):
        if id(em) not in used:
            records.append(_to_record(em))
    records.sort(key=lambda r: (r.municipality_code, r.id))
    return records, stats


def read_gsi_dir(root: Path) -> tuple[list[ShelterRecord], MergeStats]:
    """``root/emergency/*.json`` and ``root/evacuation/*.json`` (the reference layout)."""
    emergency: list[GsiEntry] = []
    evacuation: list[GsiEntry] = []
    for p in sorted((Path(root) / "emergency").glob("*.json")):
        emergency += read_gsi_file(p, "emergency")
    for p in sorted((Path(root) / "evacuation").glob("*.json")):
        evacuation += read_gsi_file(p, "evacuation")
    return merge_entries(emergency, evacuation)


def read_gsi_files(paths: list[Path]) -> tuple[list[ShelterRecord], MergeStats]:
    """Any mix of emergency / evacuation GeoJSON files (kind told by their properties)."""
    emergency: list[GsiEntry] = []
    evacuation: list[GsiEntry] = []
    for p in paths:
        for e in read_gsi_file(p):
            (emergency if e.kind == "emergency" else evacuation).append(e)
    return merge_entries(emergency, evacuation)


def load_shelters_sync(database_url: str, quiet: bool = False) -> int:
    """``bousai setup`` entry point: upsert the shipped fixture (see geo.shelters.loader)."""
    from geo.shelters.loader import load_shelters_sync as load

    return load(database_url, quiet=quiet)
