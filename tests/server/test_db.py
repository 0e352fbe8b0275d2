"""The database kit: engines name their connections; a driver connection taken from a
session is inside the session's transaction."""

from __future__ import annotations

from server.db import driver_in_transaction, make_engine


async def test_connections_carry_the_process_name_and_the_statement_timeout(settings):
    engine = make_engine(settings, pool_size=1, max_overflow=0, application_name="bousai-test", statement_timeout=7)
    try:
        async with engine.connect() as conn:
            name = (await conn.exec_driver_sql("SELECT current_setting('application_name')")).scalar()
            timeout = (await conn.exec_driver_sql("SELECT current_setting('statement_timeout')")).scalar()
        assert (name, timeout) == ("bousai-test", "7s")
    finally:
        await engine.dispose()


async def test_a_driver_statement_before_any_other_runs_in_the_transaction(settings):
    engine = make_engine(settings, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert not raw.is_in_transaction()  # what a statement sent straight away would run in
            raw = await driver_in_transaction(conn)
            assert raw.is_in_transaction()
            await raw.execute("CREATE TEMP TABLE probe (x int)")
            await conn.rollback()
            # rolled back with the session's transaction: the table never existed
            assert (await conn.exec_driver_sql("SELECT to_regclass('pg_temp.probe')")).scalar() is None
    finally:
        await engine.dispose()
