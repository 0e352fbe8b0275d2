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

The candidates come from a snapshot of every shelter (one statement, ~2,600 rows for the
prefecture, read once per generation per process); a cell's candidates are computed from it
on the cell's first request. Both are kept under the ``shelters`` generation
(server.readcache): any shelter write (open, close, occupancy, check-in, import) makes the
next request read the snapshot again, so a check-in costs one statement per api process, not
one per cell.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pyproj import Geod
from sqlalchemy.ext.asyncio import AsyncSession

from geo.shelters import repository as repo
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
    """The candidates of one cell with one set of filters (rows as read; presented per answer)."""

    lon: np.ndarray
    lat: np.ndarray
    id_rank: np.ndarray  # position of each candidate's id in id order: ties go by id, as in the SQL
    rows: list[dict]
    present: Callable[[dict], dict]

    def nearest(self, lat: float, lon: float, limit: int) -> list[dict]:
        n = len(self.rows)
        if n == 0:
            return []
        _, _, dist = _GEOD.inv(np.full(n, lon), np.full(n, lat), self.lon, self.lat)
        out = []
        for i in np.lexsort((self.id_rank, dist))[:limit]:
            row = self.present(self.rows[i])
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


def _and3(*values: bool | None) -> bool | None:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def matches(row: dict, *, hazard: str | None, is_open: bool | None, available: bool) -> bool:
    """``repository.filters`` in Python, NULLs as SQL treats them (a NULL condition drops the row)."""
    if hazard is not None and hazard not in (row.get("hazards") or ()):
        return False
    if is_open is not None and row.get("is_open") is not is_open:
        return False
    if available:
        cap, occ = row.get("capacity"), row.get("occupancy")
        full = _and3(None if cap is None else cap > 0, occ is not None,
                     None if cap is None or occ is None else occ * 10 >= cap * 8)
        if full is None or full:  # NOT (…) must be TRUE
            return False
    return True


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every shelter as ``repository.COLUMNS`` reads it: one statement per generation per process."""

    rows: list[dict]
    lon: np.ndarray
    lat: np.ndarray
    # Per filter set: the indices of the shelters it keeps (computed once per snapshot).
    kept: dict[tuple, np.ndarray]

    def matching(self, hazard: str | None, is_open: bool | None, available: bool) -> np.ndarray:
        key = (hazard, is_open, available)
        found = self.kept.get(key)
        if found is None:
            found = self.kept[key] = np.array(
                [i for i, r in enumerate(self.rows) if matches(r, hazard=hazard, is_open=is_open, available=available)],
                dtype=np.intp,
            )
        return found


async def load_snapshot(session: AsyncSession, columns: str) -> Snapshot:
    rows = await repo.snapshot_rows(session, columns)
    return Snapshot(rows=rows, lon=np.array([r["lon"] for r in rows], dtype=float),
                    lat=np.array([r["lat"] for r in rows], dtype=float), kept={})


def build_area(
    snap: Snapshot, cell: tuple[int, int], *, limit: int, hazard: str | None, is_open: bool | None, available: bool,
    present: Callable[[dict], dict],
) -> Area:
    """One cell's candidates from the snapshot (no database): every matching shelter within the
    box of radius d_k + 2h around the cell's centre (all of them when fewer than ``limit``).
    d_k is bounded from above by the true distances of the k nearest by a planar estimate:
    k real shelters lie within it, so the k-th nearest cannot be farther."""
    sel = snap.matching(hazard, is_open, available)
    if len(sel) > limit:
        clat, clon = (cell[0] + 0.5) * CELL_DEG, (cell[1] + 0.5) * CELL_DEG
        lat, lon = snap.lat[sel], snap.lon[sel]
        planar = (lat - clat) ** 2 + ((lon - clon) * math.cos(math.radians(clat))) ** 2
        near = np.argpartition(planar, limit - 1)[:limit]
        _, _, d = _GEOD.inv(np.full(limit, clon), np.full(limit, clat), lon[near], lat[near])
        radius = float(np.max(d)) + 2 * _half_diagonal_m(cell) + _SLACK_M
        dlat = radius / _M_PER_DEG_LAT_MIN
        far = min(abs(clat) + dlat, 89.0)
        dlon = radius / (_M_PER_DEG_LON_EQ_MIN * math.cos(math.radians(far)))
        sel = sel[(np.abs(lat - clat) <= dlat) & (np.abs(lon - clon) <= dlon)]
    # The snapshot is in id order: a row's index ranks its id.
    return Area(lon=snap.lon[sel], lat=snap.lat[sel], id_rank=sel.copy(), rows=[snap.rows[i] for i in sel],
                present=present)


SNAPSHOTS = readcache.ReadCache("shelters", max_entries=1)
AREAS = readcache.ReadCache("shelters", max_entries=20_000)
