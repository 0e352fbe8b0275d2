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
