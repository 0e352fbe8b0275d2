"""SQL over areas for other domains: what a JMA city area says about the places in it."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection


def city_attrs_sync(conn: Connection) -> dict[str, dict]:
    """Every JMA city area's ``attrs`` (its municipality, forecast, quake and tsunami codes)."""
    rows = conn.execute(text("SELECT code, attrs FROM areas WHERE kind = 'jma_city'")).all()
    return {code: dict(attrs or {}) for code, attrs in rows}
