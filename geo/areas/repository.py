"""SQL over areas for other domains: what a JMA city area says about the places in it."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection


def city_attrs_sync(conn: Connection) -> dict[str, dict]:
    """Every JMA city area's ``attrs`` (its municipality, forecast, quake and tsunami codes)."""
    rows = conn.execute(text("SELECT code, attrs FROM areas WHERE kind = 'jma_city'")).all()
    return {code: dict(attrs or {}) for code, attrs in rows}


async def city_areas_wkb(session) -> list:
    """Every JMA city area with a polygon: (code, name, attrs, WKB, its municipality's name)."""
    return (
        await session.execute(
            text(
                """
                SELECT c.code, c.name, c.attrs, ST_AsBinary(c.geom) AS wkb, m.name AS muni_name
                FROM areas c
                LEFT JOIN areas m ON m.kind = 'municipality' AND m.code = c.attrs->>'municipality_code'
                WHERE c.kind = 'jma_city' AND c.geom IS NOT NULL
                """
            )
        )
    ).all()


async def area_names(session) -> dict[tuple[str, str], str]:
    """(kind, code) -> name for every area level."""
    return {(k, c): n for k, c, n in (await session.execute(text("SELECT kind, code, name FROM areas"))).all()}


_UPSERT_AREA = text(
    """
    INSERT INTO areas (kind, code, name, name_kana, parent_code, attrs, geom)
    VALUES (:kind, :code, :name, :name_kana, :parent_code, CAST(:attrs AS jsonb),
            ST_SetSRID(ST_GeomFromWKB(:wkb), 4326))
    ON CONFLICT (kind, code) DO UPDATE SET
      name = EXCLUDED.name, name_kana = EXCLUDED.name_kana, parent_code = EXCLUDED.parent_code,
      attrs = EXCLUDED.attrs, geom = EXCLUDED.geom
    """
)


def upsert_area_sync(conn: Connection, row: dict) -> None:
    """Insert or update one area (``attrs`` as JSON text, ``wkb`` the polygon or None)."""
    conn.execute(_UPSERT_AREA, row)


async def municipality_exists(session, code: str) -> bool:
    """Whether ``code`` is a municipality the areas know."""
    row = await session.execute(text("SELECT 1 FROM areas WHERE kind = 'municipality' AND code = :c"), {"c": code})
    return row.first() is not None


async def municipality_names(session, codes: list[str]) -> dict[str, str]:
    """code -> name of the municipalities among ``codes`` the areas know."""
    rows = await session.execute(
        text("SELECT code, name FROM areas WHERE kind = 'municipality' AND code = ANY(:codes)"), {"codes": codes}
    )
    return {c: n for c, n in rows}


async def geodesic_area_m2(session, wkt: str) -> float:
    """The area on the ground (m², geodesic) of a WGS84 polygon given as WKT."""
    return float(
        (await session.execute(text("SELECT ST_Area(ST_GeomFromText(:w, 4326)::geography)"), {"w": wkt})).scalar_one()
    )


# The scope as exact geometry: a municipal operator's municipality polygon as it is; for the
# prefecture, the outline of the union of the municipalities with the slivers between the
# simplified polygons filled (they are inside the prefecture, not outside it).
_SCOPE_SQL = text(
    """
    WITH p AS (SELECT ST_GeomFromText(:w, 4326) AS g),
         s AS (
             SELECT CASE WHEN CAST(:scope AS text) IS NOT NULL
                         THEN (SELECT geom FROM areas WHERE kind = 'municipality' AND code = :scope)
                         ELSE (SELECT ST_Union(ST_MakePolygon(ST_ExteriorRing(d.geom)))
                               FROM areas a, ST_Dump(a.geom) d WHERE a.kind = 'jma_pref') END AS g),
         o AS (SELECT CASE WHEN s.g IS NULL THEN p.g ELSE ST_Difference(p.g, s.g) END AS g FROM p, s)
    SELECT s.g IS NOT NULL AND ST_CoveredBy(p.g, s.g) AS inside,
           ST_AsGeoJSON(o.g, 6)::json AS outside,
           ST_Area(o.g::geography) AS outside_m2,
           ARRAY(SELECT a.code FROM areas a WHERE a.kind = 'municipality' AND a.geom && o.g
                   AND ST_Area(ST_Intersection(a.geom, o.g)) > 0
                   AND (CAST(:scope AS text) IS NULL OR a.code <> :scope)
                 ORDER BY a.code) AS reaches
    FROM p, s, o
    """
)


async def polygon_in_scope(session, wkt: str, scope: str | None):
    """(inside, outside GeoJSON, outside_m2, reaches) of a polygon against a municipality's
    polygon (``scope``) or, for None, the prefecture."""
    return (await session.execute(_SCOPE_SQL, {"w": wkt, "scope": scope})).one()


async def municipalities_covered(session, wkt: str) -> list[str]:
    """The municipalities a polygon covers some area of (touching a border is not covering), by code."""
    rows = await session.execute(
        text(
            "SELECT code FROM areas WHERE kind = 'municipality' AND ST_Intersects(geom, ST_GeomFromText(:w, 4326)) "
            "AND ST_Area(ST_Intersection(geom, ST_GeomFromText(:w, 4326))) > 0 ORDER BY code"
        ),
        {"w": wkt},
    )
    return [r[0] for r in rows]


async def list_of_kind(session, kind: str, *, geometry: bool) -> list:
    """(code, name, name_kana, parent_code, simplified GeoJSON or None) of every area of a kind, by code."""
    # The 津波予報区 is stored code-only (the forecast area is the coast, not the towns); a map
    # draws it as the coastal municipalities it applies to: the union of the JMA cities that
    # carry its code (the fixture's data), so the console can show a tsunami alert in force.
    shape = (
        "COALESCE(a.geom, (SELECT ST_Union(c.geom) FROM areas c WHERE c.kind = 'jma_city' AND c.attrs->>'tsunami' = a.code))"
        if kind == "tsunami" else "a.geom"
    )
    geom_sql = f"ST_AsGeoJSON(ST_SimplifyPreserveTopology({shape}, 0.0005), 5)::json" if geometry else "NULL"
    rows = await session.execute(
        text(f"SELECT a.code, a.name, a.name_kana, a.parent_code, {geom_sql} FROM areas a WHERE a.kind = :k ORDER BY a.code"),
        {"k": kind},
    )
    return list(rows.all())
