"""Where a notice applies: whole municipalities, named districts, or a drawn polygon — validated
and checked against the operator's scope (a municipal operator cannot reach past their border)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.ops import unary_union
from shapely.validation import explain_validity
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.notices import repository as notices_repo
from geo.areas import repository as areas_repo
from server.errors import AppError, Forbidden
from alerts.staff.principal import StaffPrincipal

# A hand-drawn area has tens of vertices; thousands means a pasted boundary that CAP
# receivers and push payloads should not carry.
MAX_VERTICES = 1000
# Fukushima is 13,784 km²: a polygon larger than the prefecture is a mistake, not a target.
MAX_AREA_KM2 = 14_000.0
# Smaller than a house plot is a slip of the mouse.
MIN_AREA_M2 = 100.0
# A notice is for somewhere in Fukushima (about 2.2° of longitude by 1.6° of latitude): a box
# wider than this is a mistake (or a probe), refused before any geodesic arithmetic, which
# misbehaves on polygons spanning hemispheres.
MAX_EXTENT_DEG = 3.0
# Scope is checked on exact geometry: no share of the area and no buffer may lie outside
# (a tolerance can be aimed: 1 % of 福島市's area is 7.7 km² of another city).
MAX_MUNICIPALITIES = 59
MAX_DISTRICTS = 50


@dataclass
class ResolvedTarget:
    kind: str
    municipality_codes: list[str]
    district_ids: list[int] = field(default_factory=list)
    geometry: dict | None = None  # GeoJSON MultiPolygon
    names: dict[str, str] = field(default_factory=dict)  # municipality code → name
    district_names: list[str] = field(default_factory=list)

    @property
    def wkt(self) -> str | None:
        return shape(self.geometry).wkt if self.geometry else None


def _bad(message: str, code: str, detail: Any = None) -> AppError:
    return AppError(message, code=code, detail=detail)


async def municipality_names(session: AsyncSession, codes: list[str]) -> dict[str, str]:
    return await areas_repo.municipality_names(session, codes)


def parse_polygon(geojson: Any) -> MultiPolygon:
    """A GeoJSON Polygon / MultiPolygon (or a Feature of one), validated and bounded."""
    if not isinstance(geojson, dict):
        raise _bad("polygon must be a GeoJSON object", "invalid_polygon")
    if geojson.get("type") == "Feature":
        geojson = geojson.get("geometry") or {}
    if geojson.get("type") not in ("Polygon", "MultiPolygon"):
        raise _bad("polygon must be a GeoJSON Polygon or MultiPolygon", "invalid_polygon", {"type": geojson.get("type")})
    try:
        geom = shape(geojson)
    except Exception as exc:  # shapely raises several kinds for malformed coordinates
        raise _bad(f"polygon coordinates are malformed: {exc}", "invalid_polygon") from exc
    if geom.is_empty:
        raise _bad("polygon is empty", "invalid_polygon")
    if geom.has_z:
        # The stored geometry is 2D; a height would be dropped silently or refused by Postgres.
        raise _bad("polygon coordinates must be [lon, lat] pairs, without a height", "invalid_polygon")
    minx, miny, maxx, maxy = geom.bounds
    if not all(math.isfinite(v) for v in geom.bounds) or not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise _bad("polygon coordinates must be [lon, lat] in range", "invalid_polygon")
    if maxx - minx > MAX_EXTENT_DEG or maxy - miny > MAX_EXTENT_DEG:
        raise _bad(f"the drawn area spans {maxx - minx:.1f}° × {maxy - miny:.1f}°; at most {MAX_EXTENT_DEG}° either way",
                   "polygon_too_large")
    polys = list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]
    vertices = sum(len(p.exterior.coords) + sum(len(i.coords) for i in p.interiors) for p in polys)
    if vertices > MAX_VERTICES:
        raise _bad(f"polygon has {vertices} vertices; at most {MAX_VERTICES}", "polygon_too_detailed")
    if not geom.is_valid:
        raise _bad(f"polygon is not valid: {explain_validity(geom)}", "invalid_polygon")
    return geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])


async def _geodesic_area_m2(session: AsyncSession, wkt: str) -> float:
    return await areas_repo.geodesic_area_m2(session, wkt)


async def _check_polygon_in_scope(session: AsyncSession, principal: StaffPrincipal, wkt: str) -> list[str]:
    """The municipalities the polygon covers; refuses it when any part, however small, lies outside
    the operator's scope (exact geometry, no tolerance), naming the part outside. The scope
    is exact geometry: a municipal operator's municipality polygon as it is; for the
    prefecture, the outline of the union of the municipalities (see geo.areas.repository)."""
    row = await areas_repo.polygon_in_scope(session, wkt, principal.municipality_code)
    if not row.inside:
        where = "the prefecture" if principal.prefecture_wide else f"municipality {principal.municipality_code}"
        raise Forbidden(
            f"the drawn area reaches outside {where} by {row.outside_m2:,.0f} m²; draw it inside your scope",
            code="out_of_scope",
            detail={"scope": principal.municipality_code, "outside_area_m2": round(float(row.outside_m2 or 0), 1),
                    "outside": row.outside, "reaches_municipalities": list(row.reaches or [])},
        )
    if not principal.prefecture_wide:
        # Exactly inside the operator's municipality; overlaps of the simplified neighbours'
        # polygons along the border do not make it a neighbour's notice.
        return [principal.municipality_code]
    codes = await areas_repo.municipalities_covered(session, wkt)
    if not codes:
        raise Forbidden("the drawn area covers no municipality of the prefecture", code="out_of_scope")
    return codes


async def resolve(
    session: AsyncSession,
    principal: StaffPrincipal,
    *,
    kind: str,
    municipality_codes: list[str] | None = None,
    district_ids: list[int] | None = None,
    polygon: dict | None = None,
) -> ResolvedTarget:
    if kind == "municipality":
        codes = sorted(set(municipality_codes or []))
        if not codes:
            raise _bad("pick at least one municipality", "target_missing")
        if len(codes) > MAX_MUNICIPALITIES:
            raise _bad(f"at most {MAX_MUNICIPALITIES} municipalities", "target_too_large")
        principal.require_scope(codes, "that municipality")
        names = await municipality_names(session, codes)
        unknown = [c for c in codes if c not in names]
        if unknown:
            raise _bad(f"unknown municipality code(s): {', '.join(unknown)}", "unknown_municipality", {"unknown": unknown})
        return ResolvedTarget(kind=kind, municipality_codes=codes, names=names)

    if kind == "districts":
        ids = sorted(set(district_ids or []))
        if not ids:
            raise _bad("pick at least one district", "target_missing")
        if len(ids) > MAX_DISTRICTS:
            raise _bad(f"at most {MAX_DISTRICTS} districts", "target_too_large")
        rows = await notices_repo.districts_by_id(session, ids)
        found = {r[0] for r in rows}
        missing = [i for i in ids if i not in found]
        if missing:
            raise _bad(f"unknown district id(s): {missing}", "unknown_district", {"unknown": missing})
        codes = sorted({r[1] for r in rows})
        principal.require_scope(codes, "that district")
        union = unary_union([parse_polygon(json.loads(r[3])) for r in rows])
        if isinstance(union, Polygon):
            union = MultiPolygon([union])
        return ResolvedTarget(
            kind=kind,
            municipality_codes=codes,
            district_ids=ids,
            geometry=json.loads(json.dumps(mapping(union))),
            names=await municipality_names(session, codes),
            district_names=[r[2] for r in rows],
        )

    if kind == "polygon":
        if polygon is None:
            raise _bad("draw the area (GeoJSON polygon)", "target_missing")
        geom = parse_polygon(polygon)
        area = await _geodesic_area_m2(session, geom.wkt)
        if area > MAX_AREA_KM2 * 1e6:
            raise _bad(f"the drawn area is {area / 1e6:.0f} km²; at most {MAX_AREA_KM2:.0f}", "polygon_too_large")
        if area < MIN_AREA_M2:
            raise _bad(f"the drawn area is {area:.0f} m²; at least {MIN_AREA_M2:.0f}", "polygon_too_small")
        codes = await _check_polygon_in_scope(session, principal, geom.wkt)
        return ResolvedTarget(
            kind=kind,
            municipality_codes=codes,
            geometry=json.loads(json.dumps(mapping(geom))),
            names=await municipality_names(session, codes),
        )

    raise _bad(f"unknown target kind {kind!r}; one of municipality, districts, polygon", "invalid_target")
