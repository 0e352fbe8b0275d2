"""CAP area shapes → GeoJSON.

CAP writes ``lat,lon`` pairs (WGS 84); GeoJSON wants ``[lon, lat]``. Circles
(``lat,lon radius_km``) become 64-point polygons computed on a sphere (good to a few
metres at alert scales), so PostGIS can index them like any polygon; the exact
centre and radius are kept next to the geometry in ``circles``.
"""

from __future__ import annotations

import math
from typing import Any

EARTH_RADIUS_KM = 6371.0088
# 64 vertices: < 0.5 % area error against a true circle, small enough for a push path.
CIRCLE_SEGMENTS = 64


class ShapeError(ValueError):
    pass


def _pair(token: str) -> tuple[float, float]:
    try:
        lat_s, lon_s = token.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError:
        raise ShapeError(f"bad coordinate pair {token[:40]!r}") from None
    if not (math.isfinite(lat) and math.isfinite(lon)) or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ShapeError(f"coordinate out of range {token[:40]!r}")
    return lat, lon


def cap_polygon_to_ring(text: str) -> list[list[float]]:
    """``"lat,lon lat,lon …"`` → closed GeoJSON ring ``[[lon, lat], …]``."""
    pts = [_pair(t) for t in text.split()]
    if len(pts) < 3:
        raise ShapeError("polygon needs at least 3 points")
    ring = [[lon, lat] for lat, lon in pts]
    if ring[0] != ring[-1]:
        ring.append(list(ring[0]))  # CAP requires closure; senders forget it
    if len(ring) < 4:
        raise ShapeError("polygon needs at least 4 positions when closed")
    return ring


def parse_cap_circle(text: str) -> dict[str, float]:
    parts = text.split()
    if len(parts) != 2:
        raise ShapeError(f"bad circle {text[:40]!r}")
    lat, lon = _pair(parts[0])
    try:
        radius = float(parts[1])
    except ValueError:
        raise ShapeError(f"bad circle radius {parts[1][:20]!r}") from None
    if not math.isfinite(radius) or radius < 0 or radius > 20000:
        raise ShapeError(f"circle radius out of range {parts[1][:20]!r}")
    return {"lat": lat, "lon": lon, "radius_km": radius}


def circle_to_ring(lat: float, lon: float, radius_km: float, segments: int = CIRCLE_SEGMENTS) -> list[list[float]]:
    """Great-circle destination points around the centre (spherical Earth)."""
    if radius_km <= 0:
        radius_km = 0.001  # a point alert still needs an indexable footprint (~1 m)
    d = radius_km / EARTH_RADIUS_KM
    phi1, lam1 = math.radians(lat), math.radians(lon)
    ring = []
    for i in range(segments):
        brg = 2 * math.pi * i / segments
        phi2 = math.asin(math.sin(phi1) * math.cos(d) + math.cos(phi1) * math.sin(d) * math.cos(brg))
        lam2 = lam1 + math.atan2(math.sin(brg) * math.sin(d) * math.cos(phi1), math.cos(d) - math.sin(phi1) * math.sin(phi2))
        lon2 = (math.degrees(lam2) + 540) % 360 - 180
        ring.append([round(lon2, 6), round(math.degrees(phi2), 6)])
    ring.append(list(ring[0]))
    return ring


def multipolygon(rings: list[list[list[float]]]) -> dict[str, Any] | None:
    if not rings:
        return None
    if len(rings) == 1:
        return {"type": "Polygon", "coordinates": [rings[0]]}
    return {"type": "MultiPolygon", "coordinates": [[r] for r in rings]}
