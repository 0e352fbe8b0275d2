"""Nearest shelters from a per-area cache: the same answer as ``repository.nearest``, without
the database on the request path.

A phone asks "the nearest open shelters" at its own point, so caching answers by point helps
no one. What is the same for everyone in an area is the *candidates*: for a cell of
``CELL_DEG`` degrees with centre c and half-diagonal h (metres, geodesic), and k the number
asked for, let d_k be the distance from c to its k-th nearest shelter (with the filters).
For any point p in the cell, those k shelters are within d_k + h of p, so p's k nearest are
within d_k + h of p and hence within d_k + 2h of c (the triangle inequality). The cell keeps
every shelter within a box that holds that circle; a request computes true distances to
those candidates (the WGS84 geodesic of ``pyproj``, the same GeographicLib algorithm PostGIS
uses for ``ST_Distance(geography)``) and takes the k nearest by (distance, id), the order
the SQL uses.

Entries are kept under the ``shelters`` generation (server.readcache): any shelter write
(open, close, occupancy, check-in, import) makes every cell re-read on its next request.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from pyproj import Geod
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server import readcache

# ~5.5 km × 4.4 km at 37°N: a prefecture is ~600 cells; a cell's candidates are tens of shelters.
CELL_DEG = 0.05
# Conservative metres per degree for the box around the circle (both are lower bounds).
_M_PER_DEG_LAT_MIN = 110_500.0
_M_PER_DEG_LON_EQ_MIN = 111_000.0
# Float noise in the bound (metres): the box is widened by this.
_SLACK_M = 5.0

_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True, slots=True)
class Area:
    """The candidates of one cell with one set of filters, presented except for distance."""

    lon: np.ndarray
    lat: np.ndarray
    ids: list[str]
    rows: list[dict]

    def nearest(self, lat: float, lon: float, limit: int) -> list[dict]:
        n = len(self.ids)
        if n == 0:
            return []
        _, _, dist = _GEOD.inv(np.full(n, lon), np.full(n, lat), self.lon, self.lat)
        order = sorted(range(n), key=lambda i: (dist[i], self.ids[i]))[:limit]
        out = []
        for i in order:
            row = dict(self.rows[i])
            row["distance_m"] = round(float(dist[i]), 1)
            out.append(row)
        return out


def covers(lat: float, lon: float) -> bool:
    """Cells are plain lat/lon boxes: not near a pole or across the antimeridian."""
    return -80.0 <= lat <= 80.0 and -179.0 <= lon <= 179.0


def cell_of(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat / CELL_DEG), math.floor(lon / CELL_DEG)


def _half_diagonal_m(cell: tuple[int, int]) -> float:
    s, w = cell[0] * CELL_DEG, cell[1] * CELL_DEG
    clat, clon = s + CELL_DEG / 2, w + CELL_DEG / 2
    corners_lon = np.array([w, w, w + CELL_DEG, w + CELL_DEG])
    corners_lat = np.array([s, s + CELL_DEG, s, s + CELL_DEG])
    _, _, d = _GEOD.inv(np.full(4, clon), np.full(4, clat), corners_lon, corners_lat)
    return float(max(d))


async def load_area(
    session: AsyncSession,
    cell: tuple[int, int],
    *,
    limit: int,
    where: str,
    params: dict[str, Any],
    columns: str,
    nearest_to: Callable[..., Any],
    present: Callable[[dict], dict],
) -> Area:
    """Read one cell's candidates: ``nearest_to(lat=, lon=, limit=)`` (the exact SQL search)
    at the centre gives d_k; then every shelter matching ``where`` in the box of radius
    d_k + 2h (all of them when fewer than ``limit`` match)."""
    clat, clon = (cell[0] + 0.5) * CELL_DEG, (cell[1] + 0.5) * CELL_DEG
    at_centre = await nearest_to(lat=clat, lon=clon, limit=limit)
    box = ""
    q = dict(params)
    if len(at_centre) >= limit:
        radius = float(at_centre[-1]["distance_m"]) + 2 * _half_diagonal_m(cell) + _SLACK_M
        dlat = radius / _M_PER_DEG_LAT_MIN
        far = min(abs(clat) + dlat, 89.0)
        dlon = radius / (_M_PER_DEG_LON_EQ_MIN * math.cos(math.radians(far)))
        box = " AND geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326)"
        q.update(w=clon - dlon, e=clon + dlon, s=clat - dlat, n=clat + dlat)
    rows = [dict(r._mapping) for r in await session.execute(text(f"SELECT {columns} FROM shelters WHERE {where}{box}"), q)]
    presented = [present(r) for r in rows]
    for p in presented:
        p.pop("distance_m", None)
    return Area(
        lon=np.array([r["lon"] for r in rows], dtype=float),
        lat=np.array([r["lat"] for r in rows], dtype=float),
        ids=[r["id"] for r in rows],
        rows=presented,
    )


AREAS = readcache.ReadCache("shelters", max_entries=20_000)
