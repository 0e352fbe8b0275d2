"""The grid cover used by polygon targeting: interior cells are surely inside, and no
point inside the polygon lies in a cell that was left out."""

from __future__ import annotations

import random

import shapely
from shapely.geometry import Point, Polygon

from geo.grid import cell_of, cover


def _jagged_polygon(n: int = 5000) -> Polygon:
    rnd = random.Random(5)
    import math

    pts = []
    for k in range(n):
        a = 2 * math.pi * k / n
        r = 0.25 + 0.05 * math.sin(7 * a) + rnd.uniform(-0.004, 0.004)
        pts.append((140.5 + r * math.cos(a), 37.5 + 0.8 * r * math.sin(a)))
    return Polygon(pts).buffer(0)


def test_cover_classifies_every_point_correctly():
    poly = _jagged_polygon()
    interior, boundary = set(), set()
    i, b = cover(poly)
    interior.update(i)
    boundary.update(b)
    assert interior and boundary and not (interior & boundary)
    rnd = random.Random(11)
    minx, miny, maxx, maxy = poly.bounds
    shapely.prepare(poly)
    for _ in range(20000):
        lon, lat = rnd.uniform(minx - 0.05, maxx + 0.05), rnd.uniform(miny - 0.05, maxy + 0.05)
        inside = poly.intersects(Point(lon, lat))
        c = cell_of(lat, lon)
        if c in interior:
            assert inside, (lat, lon)
        elif inside:
            assert c in boundary, (lat, lon)


def test_points_on_cell_edges_lie_in_the_box_of_their_cell():
    # 127.0 / 0.01 is 12699.999…: floor puts an edge point in the lower cell, and the box
    # cover() builds for that cell (grown by 1e-9) still contains it.
    from geo.grid import CELL_DEG

    for lat in (37.0, 37.01, 37.3, 36.99):
        for lon in (140.0, 140.47, 141.01):
            c = cell_of(lat, lon)
            i, j = divmod(c, 36000)
            y0, x0 = i * CELL_DEG - 90.0, j * CELL_DEG - 180.0
            assert y0 - 1e-9 <= lat <= y0 + CELL_DEG + 1e-9
            assert x0 - 1e-9 <= lon <= x0 + CELL_DEG + 1e-9


async def test_generated_cell_column_agrees_with_python(client, resident, engine):
    from sqlalchemy import text

    headers, _ = resident
    pts = [(37.7608, 140.4747), (37.0, 140.88), (37.44999, 140.12999), (36.95, 140.9)]
    for lat, lon in pts:
        r = await client.post("/v1/me/places", json={"kind": "other", "lat": lat, "lon": lon}, headers=headers)
        assert r.status_code == 201
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT ST_Y(geom), ST_X(geom), cell FROM places ORDER BY id"))).all()
    assert [c for _, _, c in rows] == [cell_of(lat, lon) for lat, lon, _ in rows]


def _cover_cell_by_cell(geom):
    """The definition, tested on every cell of the bounding box: what cover() must equal."""
    import math

    import numpy as np

    from geo.grid import _ROW, CELL_DEG, _boxes

    minx, miny, maxx, maxy = geom.bounds
    i0, i1 = math.floor((miny + 90.0) / CELL_DEG), math.floor((maxy + 90.0) / CELL_DEG)
    j0, j1 = math.floor((minx + 180.0) / CELL_DEG), math.floor((maxx + 180.0) / CELL_DEG)
    ii, jj = (a.ravel() for a in np.meshgrid(np.arange(i0, i1 + 1), np.arange(j0, j1 + 1), indexing="ij"))
    boxes = _boxes(ii, jj, 1)
    touches = shapely.intersects(geom, boxes)
    inside = touches & shapely.contains(geom, boxes)
    ids = ii * _ROW + jj
    return sorted(ids[inside].tolist()), sorted(ids[touches & ~inside].tolist())


def test_the_quadtree_cover_equals_testing_every_cell():
    rnd = random.Random(3)
    shapes = [
        _jagged_polygon(),
        shapely.simplify(_jagged_polygon(), 0.002).buffer(-0.1),
        shapely.box(140.0, 37.0, 140.0 + 0.16, 37.0 + 0.16),  # edges on grid lines
    ]
    for _ in range(150):
        x, y = rnd.uniform(139.0, 141.5), rnd.uniform(36.5, 38.0)
        if rnd.random() < 0.5:
            shapes.append(Point(x, y).buffer(rnd.choice([0.0005, 0.004, 0.03, 0.2]), quad_segs=rnd.choice([1, 2, 8])))
        else:
            shapes.append(shapely.box(x, y, x + rnd.uniform(0.0, 0.4), y + rnd.uniform(0.0, 0.4)))
    shapes.append(shapely.MultiPolygon([Point(140.2, 37.2).buffer(0.05), Point(140.9, 37.6).buffer(0.12)]))
    for shape in shapes:
        assert cover(shape) == _cover_cell_by_cell(shape), shape.wkt[:80]
