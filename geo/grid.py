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


# Blocks of 2^k × 2^k cells tried first: a block wholly inside is interior as a whole, one
# wholly outside is dropped, only those the boundary crosses are split in four.
_TOP = 16


def _edge(k):
    """Lower edge in degrees of grid row/column ``k`` (one formula for cells and blocks, so
    a block's box holds the boxes of its cells exactly)."""
    return k * CELL_DEG


def _boxes(i, j, size: int):
    y0, y1 = _edge(i) - 90.0, _edge(i + size) - 90.0
    x0, x1 = _edge(j) - 180.0, _edge(j + size) - 180.0
    return shapely.box(x0 - _EPS, y0 - _EPS, x1 + _EPS, y1 + _EPS)


def cover(geom: BaseGeometry) -> tuple[list[int], list[int]]:
    """(interior cells, boundary cells) of a polygonal geometry in lon/lat degrees, each in
    ascending order.

    Interior: the cell's box, grown by a hair against rounding, lies within the geometry, so
    every point in the cell is inside. Boundary: the box touches the geometry but is not
    interior; its places need the exact test. Cells not returned hold no matching place.

    Worked out from the top down (a quadtree over the grid): blocks of ``_TOP`` × ``_TOP``
    cells first, and only blocks the boundary crosses are split, so the tests grow with the
    polygon's outline, not its area (a 5,000-vertex prefecture-sized polygon: ~4 ms instead
    of ~15 ms testing every cell of its bounding box). A block's grown box holds the grown
    boxes of its cells, so the answer is the same cell by cell.
    """
    if geom.is_empty:
        return [], []
    minx, miny, maxx, maxy = geom.bounds
    i0, i1 = math.floor((miny + 90.0) / CELL_DEG), math.floor((maxy + 90.0) / CELL_DEG)
    j0, j1 = math.floor((minx + 180.0) / CELL_DEG), math.floor((maxx + 180.0) / CELL_DEG)
    size = _TOP
    bi, bj = np.meshgrid(np.arange(i0 // size, i1 // size + 1), np.arange(j0 // size, j1 // size + 1), indexing="ij")
    ii, jj = bi.ravel() * size, bj.ravel() * size
    shapely.prepare(geom)
    interior: list[np.ndarray] = []
    boundary = np.empty(0, dtype=np.int64)
    while len(ii):
        boxes = _boxes(ii, jj, size)
        touches = shapely.intersects(geom, boxes)
        inside = touches & shapely.contains(geom, boxes)
        if inside.any():
            di, dj = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
            cells = (ii[inside, None] + di.ravel()) * _ROW + (jj[inside, None] + dj.ravel())
            interior.append(cells.ravel())
        crossed = touches & ~inside
        ii, jj = ii[crossed], jj[crossed]
        if size == 1:
            # Only cells of the bounding box can hold a point of the geometry (a grown box
            # also touches a polygon whose edge lies on a grid line from the cell beyond).
            keep = (ii >= i0) & (ii <= i1) & (jj >= j0) & (jj <= j1)
            boundary = ii[keep] * _ROW + jj[keep]
            break
        size //= 2
        ii = np.concatenate([ii, ii, ii + size, ii + size])
        jj = np.concatenate([jj, jj + size, jj, jj + size])
    inner = np.sort(np.concatenate(interior)) if interior else np.empty(0, dtype=np.int64)
    return inner.tolist(), np.sort(boundary).tolist()
