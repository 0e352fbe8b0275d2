"""A notice's drawn area against the operator's scope, on exact geometry (issue 12, item 1)."""

from __future__ import annotations

import json

from sqlalchemy import text

from tests.kits.staff import FUKUSHIMA, FUKUSHIMA_POINT, KORIYAMA, KORIYAMA_POINT, square, staff_headers


def _draft(polygon, level=3, **kw):
    return {"level": level, "target_kind": "polygon", "polygon": polygon, "reason": "浸水のおそれ", **kw}


async def _border(engine) -> tuple[float, float, str]:
    """A point on 福島市's border with a neighbour inside the prefecture (lat, lon, its code)."""
    async with engine.connect() as conn:
        row = (await conn.execute(text(
            """
            WITH f AS (SELECT geom FROM areas WHERE kind = 'municipality' AND code = :f),
                 n AS (SELECT a.code, ST_Length(ST_Intersection(ST_Boundary(f.geom), a.geom)) AS shared, a.geom
                       FROM areas a, f WHERE a.kind = 'municipality' AND a.code <> :f AND ST_Intersects(a.geom, f.geom)
                       ORDER BY shared DESC LIMIT 1),
                 b AS (SELECT n.code, ST_PointOnSurface(ST_Intersection(ST_Boundary(f.geom), n.geom)) AS pt FROM f, n)
            SELECT ST_Y(pt), ST_X(pt), code FROM b
            """), {"f": FUKUSHIMA})).one()
    return float(row[0]), float(row[1]), row[2]


async def _border_piece(engine, *, stray_deg: float) -> dict:
    """A piece of 福島市 at its border with a neighbour (its own polygon cut by a ~4 km box),
    grown outwards by ``stray_deg`` (0: exactly the municipality's own edge)."""
    lat, lon, _ = await _border(engine)
    async with engine.connect() as conn:
        geojson = (await conn.execute(text(
            """
            WITH f AS (SELECT geom FROM areas WHERE kind = 'municipality' AND code = :f),
                 piece AS (SELECT ST_Intersection(CASE WHEN CAST(:d AS float8) > 0 THEN ST_Buffer(f.geom, CAST(:d AS float8))
                                                  ELSE f.geom END,
                                                  ST_Expand(ST_SetSRID(ST_Point(:lon, :lat), 4326), 0.02)) AS g FROM f)
            SELECT ST_AsGeoJSON((SELECT ST_Union(d.geom) FROM ST_Dump(piece.g) d
                                 WHERE GeometryType(d.geom) = 'POLYGON'), 9) FROM piece
            """), {"f": FUKUSHIMA, "d": stray_deg, "lat": lat, "lon": lon})).scalar_one()
    return json.loads(geojson)


async def _most_of_fukushima(engine) -> list:
    """Polygon coordinates covering most of 福島市 (its outline simplified, kept inside it)."""
    async with engine.connect() as conn:
        geojson = (await conn.execute(text(
            "SELECT ST_AsGeoJSON(ST_GeometryN(ST_Multi(ST_Buffer(ST_SimplifyPreserveTopology(ST_Buffer(geom, -0.01), 0.005),"
            " 0)), 1), 7) FROM areas WHERE kind = 'municipality' AND code = :f"), {"f": FUKUSHIMA})).scalar_one()
    return json.loads(geojson)["coordinates"]


async def test_a_polygon_with_a_square_in_another_city_is_refused_with_the_part_outside(app, client, engine):
    """The reported attack: 福島市 plus 4 km² of central 郡山市 was a 201 recorded as 福島市's."""
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    inside = await _most_of_fukushima(engine)
    # 2 km x 2 km in central 郡山市: well under 1 % of the drawn area.
    elsewhere = square(*KORIYAMA_POINT, half_deg=0.009)["coordinates"]
    r = await client.post("/v1/staff/notices", headers=op,
                          json=_draft({"type": "MultiPolygon", "coordinates": [inside, elsewhere]}))
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["code"] == "out_of_scope"
    assert 2.5e6 < body["detail"]["outside_area_m2"] < 4.5e6
    assert KORIYAMA in body["detail"]["reaches_municipalities"]
    assert body["detail"]["outside"]["type"] in ("Polygon", "MultiPolygon")


async def test_a_sliver_across_the_border_is_refused_however_small(app, client, engine):
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    # ~30 m across the border: inside any tolerance, still someone else's residents.
    r = await client.post("/v1/staff/notices", headers=op, json=_draft(await _border_piece(engine, stray_deg=0.0003)))
    assert r.status_code == 403, r.text
    assert r.json()["detail"]["outside_area_m2"] > 0


async def test_a_polygon_on_the_municipality_own_border_is_accepted_with_its_own_code(app, client, engine):
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    r = await client.post("/v1/staff/notices", headers=op, json=_draft(await _border_piece(engine, stray_deg=0)))
    assert r.status_code == 201, r.text
    assert r.json()["municipality_codes"] == [FUKUSHIMA]


async def test_codes_are_what_the_polygon_covers_never_overwritten(app, client, engine):
    """A polygon over two cities records both, so approvers and both cities' reports see it."""
    pref = await staff_headers(app, client, "prefecture")
    lat, lon, neighbour = await _border(engine)
    r = await client.post("/v1/staff/notices", headers=pref, json=_draft(square(lat, lon, half_deg=0.01)))
    assert r.status_code == 201, r.text
    codes = r.json()["municipality_codes"]
    assert FUKUSHIMA in codes and neighbour in codes
    # The same polygon from either city's operator is refused.
    for code in (FUKUSHIMA, neighbour):
        op = await staff_headers(app, client, "municipal", code)
        r = await client.post("/v1/staff/notices", headers=op, json=_draft(square(lat, lon, half_deg=0.01)))
        assert r.status_code == 403 and r.json()["code"] == "out_of_scope"


async def test_the_prefecture_cannot_reach_outside_the_prefecture(app, client):
    pref = await staff_headers(app, client, "prefecture")
    # Straddling the border with 宮城県 north of 福島市.
    r = await client.post("/v1/staff/notices", headers=pref, json=_draft(square(37.98, 140.55, half_deg=0.05)))
    assert r.status_code == 403 and r.json()["code"] == "out_of_scope"


async def test_heights_and_world_sized_polygons_are_4xx(app, client):
    op = await staff_headers(app, client, "prefecture")
    lat, lon = FUKUSHIMA_POINT
    with_z = {"type": "Polygon", "coordinates": [[[x, y, 100.0] for x, y in square(lat, lon)["coordinates"][0]]]}
    globe = {"type": "Polygon", "coordinates": [[[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]]}
    hemisphere = {"type": "Polygon", "coordinates": [[[0, 0], [179, 0], [179, 60], [0, 60], [0, 0]]]}
    for poly, code in ((with_z, "invalid_polygon"), (globe, "polygon_too_large"), (hemisphere, "polygon_too_large")):
        r = await client.post("/v1/staff/notices", headers=op, json=_draft(poly))
        assert r.status_code == 400 and r.json()["code"] == code, r.text
    n = (await client.post("/v1/staff/notices", headers=op, json=_draft(square(lat, lon)))).json()
    r = await client.patch(f"/v1/staff/notices/{n['id']}", headers=op, json={"polygon": with_z})
    assert r.status_code == 400 and r.json()["code"] == "invalid_polygon"
