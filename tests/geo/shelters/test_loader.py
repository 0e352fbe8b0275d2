"""Loading the shipped GSI-derived fixture into PostGIS."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from geo.shelters import gsi, repository
from geo.shelters.loader import load_shelters_fixture, read_fixture
from server.db import sync_url


async def test_fixture_loads_with_flags_hazards_and_points(session):
    n = await load_shelters_fixture(session, quiet=True)
    assert n == len(read_fixture()) > 2000
    row = (
        await session.execute(
            text(
                """
                SELECT count(*), count(*) FILTER (WHERE is_emergency_site), count(*) FILTER (WHERE is_evacuation_center),
                       count(*) FILTER (WHERE is_emergency_site AND is_evacuation_center),
                       count(*) FILTER (WHERE 'tsunami' = ANY(hazards)),
                       count(DISTINCT municipality_code),
                       bool_and(ST_Y(geom) BETWEEN 36.7 AND 38.0 AND ST_X(geom) BETWEEN 139.1 AND 141.1),
                       bool_and(source = 'gsi')
                FROM shelters
                """
            )
        )
    ).one()
    total, emergency, evacuation, both, tsunami, municipalities, in_fukushima, all_gsi = row
    assert total == n
    assert emergency == 1847 and evacuation == 1799 and both > 1000
    assert tsunami > 0 and municipalities >= 30 and in_fukushima and all_gsi
    # A merged facility: the schoolyard's hazards on the school building's row.
    meisei = await repository.get(session, "gsi:E0720100004111")
    assert meisei["name"] == "福島明成高等学校" and meisei["is_emergency_site"] and meisei["is_evacuation_center"]
    assert meisei["hazards"]


async def test_reload_is_idempotent_and_keeps_staff_status(session):
    await load_shelters_fixture(session, quiet=True)
    await repository.set_status(session, "gsi:E0720100004111", is_open=True, occupancy=120, capacity=480)
    n = await load_shelters_fixture(session, quiet=True)
    assert (await session.execute(text("SELECT count(*) FROM shelters"))).scalar_one() == n
    row = await repository.get(session, "gsi:E0720100004111")
    assert (row["is_open"], row["occupancy"], row["capacity"]) == (True, 120, 480)
    assert row["opened_at"] is not None


async def test_progress_is_printed(session, capsys):
    await load_shelters_fixture(session)
    out = capsys.readouterr().out
    assert "shelters: 500/" in out and out.strip().endswith("loaded")


def test_sync_bulk_load_via_setup_entry_point(db_url, capsys):
    eng = create_engine(sync_url(db_url))
    try:
        n = gsi.load_shelters_sync(db_url, quiet=True)
        assert capsys.readouterr().out == ""
        with eng.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM shelters WHERE source = 'gsi'")).scalar_one() == n > 2000
    finally:
        with eng.begin() as conn:
            conn.execute(text("DELETE FROM shelters"))
        eng.dispose()
