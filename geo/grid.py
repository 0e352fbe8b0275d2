"""A fixed lat/lon grid for polygon targeting (the polyfill idea of H3 and tile38).

Every place stores the id of the grid cell it lies in (a generated column, so no writer
can forget it). A polygon is covered by cells: places in cells wholly inside the polygon
match by an index lookup on the cell id with no geometry test at all; only places in cells
the boundary crosses are tested exactly. A 5,000-vertex prefecture-sized polygon then
costs a few thousand exact point tests instead of one per place.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

# 0.01° ≈ 1.1 km × 0.9 km in Fukushima: fine enough that boundary cells hold a few percent
# of a polygon's places, coarse enough that a prefecture-sized polygon is ~20,000 cells.
CELL_DEG = 0.01
_ROW = 36_000  # cells per row: 360° / CELL_DEG

# Same arithmetic in SQL and Python; the result fits in int4 (max 18,000 × 36,000).
CELL_SQL = "(floor((ST_Y(geom) + 90.0) / 0.01)::integer * 36000 + floor((ST_X(geom) + 180.0) / 0.01)::integer)"
# Cells with more exact tests than this are not worth splitting out (tiny polygons).
_EPS = 1e-9


def cell_of(lat: float, lon: float) -> int:
    return math.floor((lat + 90.0) / CELL_DEG) * _ROW + math.floor((lon + 180.0) / CELL_DEG)


def cover(geom: BaseGeometry) -> tuple[list[int], list[int]]:
    """(interior cells, boundary cells) of a polygonal geometry in lon/lat degrees.

    Interior: the cell's box, grown by a hair against rounding, lies within the geometry, so
    every point in the cell is inside. Boundary: the box touches the geometry but is not
    interior; its places need the exact test. Cells not returned hold no matching place.
    """
    if geom.is_empty:
        return [], []
    minx, miny, maxx, maxy = geom.bounds
    i0, i1 = math.floor((miny + 90.0) / CELL_DEG), math.floor((maxy + 90.0) / CELL_DEG)
    j0, j1 = math.floor((minx + 180.0) / CELL_DEG), math.floor((maxx + 180.0) / CELL_DEG)
    ii, jj = np.meshgrid(np.arange(i0, i1 + 1), np.arange(j0, j1 + 1), indexing="ij")
    ii, jj = ii.ravel(), jj.ravel()
    y0 = ii * CELL_DEG - 90.0
    x0 = jj * CELL_DEG - 180.0
    boxes = shapely.box(x0 - _EPS, y0 - _EPS, x0 + CELL_DEG + _EPS, y0 + CELL_DEG + _EPS)
    shapely.prepare(geom)
    touches = shapely.intersects(geom, boxes)
    inside = touches & shapely.contains(geom, boxes)
    ids = ii * _ROW + jj
    return ids[inside].tolist(), ids[touches & ~inside].tolist()
