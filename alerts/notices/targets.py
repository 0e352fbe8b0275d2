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
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import AppError, Forbidden
from server.staff.principal import StaffPrincipal

# A hand-drawn area has tens of vertices; thousands means a pasted boundary that CAP
# receivers and push payloads should not carry.
MAX_VERTICES = 1000
# Fukushima is 13,784 km²: a polygon larger than the prefecture is a mistake, not a target.
MAX_AREA_KM2 = 14_000.0
# Smaller than a house plot is a slip of the mouse.
MIN_AREA_M2 = 100.0
# The reference boundaries are simplified: a border drawn along them may stray ~200 m.
SCOPE_TOLERANCE_DEG = 0.002
# ... and at most this share of the drawn area may lie outside the scope once buffered.
MAX_OUTSIDE_SHARE = 0.01
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
    rows = await session.execute(
        text("SELECT code, name FROM areas WHERE kind = 'municipality' AND code = ANY(:codes)"), {"codes": codes}
    )
    return {c: n for c, n in rows}


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
    minx, miny, maxx, maxy = geom.bounds
    if not all(math.isfinite(v) for v in geom.bounds) or not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise _bad("polygon coordinates must be [lon, lat] in range", "invalid_polygon")
    polys = list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]
    vertices = sum(len(p.exterior.coords) + sum(len(i.coords) for i in p.interiors) for p in polys)
    if vertices > MAX_VERTICES:
        raise _bad(f"polygon has {vertices} vertices; at most {MAX_VERTICES}", "polygon_too_detailed")
    if not geom.is_valid:
        raise _bad(f"polygon is not valid: {explain_validity(geom)}", "invalid_polygon")
    return geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])


async def _geodesic_area_m2(session: AsyncSession, wkt: str) -> float:
    return float(
        (await session.execute(text("SELECT ST_Area(ST_GeomFromText(:w, 4326)::geography)"), {"w": wkt})).scalar_one()
    )


async def _check_polygon_in_scope(session: AsyncSession, principal: StaffPrincipal, wkt: str) -> list[str]:
    """The municipalities the polygon touches; refuses what strays outside the operator's scope."""
    # The drawn polygon is shrunk by the tolerance (cheap: it is small) instead of buffering the
    # boundaries (expensive: thousands of vertices), and only municipalities it touches are read.
    row = (
        await session.execute(
            text(
                """
                WITH p AS (SELECT ST_GeomFromText(:w, 4326) AS g),
                     shrunk AS (SELECT ST_Buffer(p.g, -CAST(:tol AS float8)) AS g FROM p),
                     s AS (SELECT ST_Union(a.geom) AS g FROM areas a, p
                           WHERE a.kind = 'municipality' AND a.geom && p.g
                             AND (CAST(:scope AS text) IS NULL OR a.code = :scope))
                SELECT CASE WHEN s.g IS NULL THEN 1
                            -- narrower than the tolerance: judge it by a point inside it
                            WHEN ST_IsEmpty(shrunk.g) THEN
                                CASE WHEN ST_DWithin(ST_PointOnSurface(p.g), s.g, CAST(:tol AS float8)) THEN 0 ELSE 1 END
                            ELSE ST_Area(ST_Difference(shrunk.g, s.g)) / NULLIF(ST_Area(p.g), 0) END
                FROM p, shrunk, s
                """
            ),
            {"w": wkt, "scope": principal.municipality_code, "tol": SCOPE_TOLERANCE_DEG},
        )
    ).scalar_one()
    outside = 1.0 if row is None else float(row)
    if outside > MAX_OUTSIDE_SHARE:
        raise Forbidden(
            "the drawn area reaches outside your scope"
            + ("" if principal.prefecture_wide else f" (municipality {principal.municipality_code})"),
            code="out_of_scope",
            detail={"outside_share": round(outside, 4), "scope": principal.municipality_code},
        )
    rows = await session.execute(
        text(
            "SELECT code FROM areas WHERE kind = 'municipality' AND ST_Intersects(geom, ST_GeomFromText(:w, 4326)) "
            "AND ST_Area(ST_Intersection(geom, ST_GeomFromText(:w, 4326))) > 0 ORDER BY code"
        ),
        {"w": wkt},
    )
    codes = [r[0] for r in rows]
    if not principal.prefecture_wide:
        # Border slivers inside the tolerance are the operator's own municipality.
        codes = [principal.municipality_code]
    if not codes:
        raise Forbidden("the drawn area is outside the prefecture", code="out_of_scope")
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
        rows = (
            await session.execute(
                text(
                    "SELECT id, municipality_code, name, ST_AsGeoJSON(geom) FROM notice_districts "
                    "WHERE id = ANY(:ids) ORDER BY id"
                ),
                {"ids": ids},
            )
        ).all()
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
