"""Load the Fukushima area fixture into the ``areas`` table (idempotent upsert).

Municipality, まとめ地域, 一次細分, prefecture and earthquake-area polygons are the unions of
the JMA city polygons that make them up, so every level agrees with the one we geocode on.

Places store the codes of their JMA city area (geocoded on write). A reload that changes an
area's codes (a corrected 地震情報細分区域, say) re-derives them for every stored place of that
area in the same transaction (:func:`refresh_place_codes`), so ``bousai setup`` run again fixes
existing data; running processes pick the new codes up for new writes at their next start.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from shapely import make_valid, to_wkb
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.ops import unary_union
from sqlalchemy import create_engine

from geo.areas import repository as areas_repo
from server.db import sync_url
from server.resources import fixtures_dir

AREAS_FIXTURE = fixtures_dir() / "areas" / "fukushima_areas.json"


def _multi(geom) -> MultiPolygon:
    geom = make_valid(geom)
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    if isinstance(geom, MultiPolygon):
        return geom
    polys = [g for g in getattr(geom, "geoms", []) if isinstance(g, (Polygon, MultiPolygon))]
    flat = []
    for g in polys:
        flat.extend(g.geoms if isinstance(g, MultiPolygon) else [g])
    return MultiPolygon(flat)


def read_fixture(path: Path = AREAS_FIXTURE) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def build_rows(data: dict) -> list[dict]:
    rows: list[dict] = []
    members: dict[tuple[str, str], list] = defaultdict(list)
    for c in data["jma_cities"]:
        geom = _multi(shape({"type": "MultiPolygon", "coordinates": c["multipolygon"]}))
        attrs = {k: c[k] for k in ("municipality_code", "matome", "first", "pref", "quake", "tsunami")}
        rows.append(dict(kind="jma_city", code=c["code"], name=c["name"], name_kana=c["kana"], parent_code=c["matome"], attrs=attrs, geom=geom))
        members[("municipality", c["municipality_code"])].append(geom)
        members[("jma_matome", c["matome"])].append(geom)
        members[("jma_first", c["first"])].append(geom)
        members[("jma_pref", c["pref"])].append(geom)
        if c["quake"]:
            members[("quake", c["quake"])].append(geom)
        if c["tsunami"]:
            members[("tsunami", c["tsunami"])].append(geom)
    for m in data["municipalities"]:
        rows.append(dict(kind="municipality", code=m["code"], name=m["name"], name_kana=m["kana"], parent_code="070000", attrs={}, geom=None))
    for kind in ("jma_matome", "jma_first", "jma_pref", "quake", "tsunami"):
        for a in data[kind]:
            rows.append(dict(kind=kind, code=a["code"], name=a["name"], name_kana=a.get("kana"), parent_code=a.get("parent"), attrs={}, geom=None))
    for r in rows:
        if r["geom"] is None:
            parts = members.get((r["kind"], r["code"]))
            # The tsunami forecast area is the coast, not the union of coastal towns; keep it code-only.
            if parts and r["kind"] != "tsunami":
                r["geom"] = _multi(unary_union(parts))
    return rows


def load_areas_sync(database_url: str, *, quiet: bool = False, path: Path = AREAS_FIXTURE) -> int:
    rows = build_rows(read_fixture(path))
    engine = create_engine(sync_url(database_url))
    with engine.begin() as conn:
        for i, r in enumerate(rows, 1):
            areas_repo.upsert_area_sync(
                conn,
                {
                    **{k: r[k] for k in ("kind", "code", "name", "name_kana", "parent_code")},
                    "attrs": json.dumps(r["attrs"], ensure_ascii=False),
                    "wkb": to_wkb(r["geom"]) if r["geom"] is not None else None,
                },
            )
            if not quiet and (i % 20 == 0 or i == len(rows)):
                print(f"areas: {i}/{len(rows)} loaded", flush=True)
    engine.dispose()
    return len(rows)


def geocoder_from_fixture(snap_m: float = 1000.0, path: Path = AREAS_FIXTURE):
    """The same geocoder as the app's, built from the shipped fixture (no database needed)."""
    from geo.areas.geocoder import AreaCodes, Geocoder

    rows = build_rows(read_fixture(path))
    names = {(r["kind"], r["code"]): r["name"] for r in rows}
    areas = [
        (r["geom"], AreaCodes.of_city(r["code"], r["name"], r["attrs"], names.get(("municipality", r["attrs"]["municipality_code"]))))
        for r in rows
        if r["kind"] == "jma_city"
    ]
    return Geocoder(areas, snap_m=snap_m, names=names)
