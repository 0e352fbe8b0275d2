"""In-process geocoder: a point → the municipality and every JMA code the feeds use.

Resolution runs on every place write (including each current-location update), so it
must cost microseconds, not a database round trip: the 61 JMA city polygons sit in a
shapely STRtree of prepared geometries. A point in a gap between simplified polygons, or
just offshore, snaps to the nearest area within ``snap_m``; farther away it resolves to
nothing (the place is still stored).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import shapely
from pyproj import Geod
from shapely import STRtree
from shapely.geometry import Point
from shapely.ops import nearest_points

from geo.areas import repository as areas_repo

# Distances on the WGS84 ellipsoid (JGD2011 and GPS coordinates agree to centimetres here).
GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True, slots=True)
class AreaCodes:
    municipality_code: str
    municipality_name: str
    jma_city_code: str
    jma_city_name: str
    jma_matome_code: str | None
    jma_first_code: str | None
    jma_pref_code: str | None
    quake_area_code: str | None
    tsunami_area_code: str | None
    snapped_m: float | None = None  # distance to the area when the point was outside every polygon

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def of_city(cls, code: str, name: str, attrs: dict, municipality_name: str | None) -> AreaCodes:
        """A JMA city area's codes from its ``areas`` row (``attrs`` as the loader stores them)."""
        return cls(
            municipality_code=attrs["municipality_code"],
            municipality_name=municipality_name or name,
            jma_city_code=code,
            jma_city_name=name,
            jma_matome_code=attrs.get("matome"),
            jma_first_code=attrs.get("first"),
            jma_pref_code=attrs.get("pref"),
            quake_area_code=attrs.get("quake"),
            tsunami_area_code=attrs.get("tsunami"),
        )


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Geodesic distance in metres between two lon/lat points."""
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


def degrees_covering(meters: float, lat: float) -> float:
    """The lon/lat radius (degrees) that reaches at least ``meters`` in every direction at
    latitude ``lat``: the larger of a degree of longitude and of latitude measured there."""
    lon_east, _, _ = GEOD.fwd(0.0, lat, 90.0, meters)
    _, lat_north, _ = GEOD.fwd(0.0, lat, 0.0, meters)
    return max(abs(lon_east), abs(lat_north - lat))


class Geocoder:
    def __init__(
        self, areas: list[tuple[object, AreaCodes]], snap_m: float = 1000.0, names: dict[tuple[str, str], str] | None = None
    ):
        # (kind, code) -> name for every area level, to label resolved codes.
        self.names = names or {}
        # jma_city_code -> labelled codes for API answers (see geo.areas.api.resolved_area_dict).
        self.label_cache: dict[str, dict] = {}
        self._geoms = [g for g, _ in areas]
        self._codes = [c for _, c in areas]
        for g in self._geoms:
            shapely.prepare(g)
        self._tree = STRtree(self._geoms)
        self.snap_m = snap_m
        # The candidate search runs in degrees: a radius that reaches snap_m everywhere in
        # these areas, taken where a degree of longitude is shortest (their northern edge).
        north = float(shapely.total_bounds(self._geoms)[3]) if self._geoms else 45.0
        self._snap_deg = degrees_covering(snap_m, abs(north)) * 1.01

    def __len__(self) -> int:
        return len(self._codes)

    def locate(self, lat: float, lon: float) -> AreaCodes | None:
        pt = Point(lon, lat)
        hits = self._tree.query(pt, predicate="intersects")
        if len(hits):
            # Shared borders: the lowest code wins, so the answer is deterministic.
            return min((self._codes[i] for i in hits), key=lambda c: c.jma_city_code)
        idx = self._tree.query_nearest(pt, max_distance=self._snap_deg, all_matches=False)
        best: tuple[float, AreaCodes] | None = None
        for i in idx:
            near = nearest_points(self._geoms[i], pt)[0]
            d = distance_m(lon, lat, near.x, near.y)
            if d <= self.snap_m and (best is None or d < best[0]):
                best = (d, self._codes[i])
        if best is None:
            return None
        d, codes = best
        return AreaCodes(**{**codes.as_dict(), "snapped_m": round(d, 1)})


async def load_geocoder(session, snap_m: float) -> Geocoder:
    """Build the geocoder from the ``areas`` table (what `bousai setup` loaded)."""

    rows = await areas_repo.city_areas_wkb(session)
    areas = [
        (shapely.from_wkb(bytes(wkb)), AreaCodes.of_city(code, name, attrs, muni_name))
        for code, name, attrs, wkb, muni_name in rows
    ]
    names = await areas_repo.area_names(session)
    return Geocoder(areas, snap_m=snap_m, names=names)
