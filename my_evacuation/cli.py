"""``bousai setup``'s step of My Evacuation: the places residents stored follow the areas
just loaded (a code JMA corrected reaches every place in that city area)."""

from __future__ import annotations

from sqlalchemy import create_engine

from geo.areas.repository import city_attrs_sync
from my_evacuation.places.repository import refresh_codes_sync
from server.db import sync_url


def refresh_place_codes(database_url: str, args=None) -> int:
    engine = create_engine(sync_url(database_url))
    try:
        with engine.begin() as conn:
            changed = refresh_codes_sync(conn, city_attrs_sync(conn))
    finally:
        engine.dispose()
    if changed:
        print(f"setup: codes of {changed} stored places re-derived from their areas", flush=True)
    return changed


# After geo's steps (package order): the areas are loaded by then.
SETUP_STEPS = [refresh_place_codes]
