"""The database kit: engines name their connections; a driver connection taken from a
session is inside the session's transaction."""

from __future__ import annotations

from sqlalchemy import text

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


async def test_an_api_process_starts_with_its_pools_warm(settings, redis_client):
    """The surge after a quake finds open connections: the api opens its warm floor in both
    pools before it serves, and the raw pool keeps it."""
    from server.app import create_app

    warm = 3
    app = create_app(settings.model_copy(update={"db_pool_warm_connections": warm}))
    async with app.router.lifespan_context(app):
        async with app.state.sessionmaker() as s:
            # this session's own connection is one of the ORM pool's warm ones
            open_by_name = dict((await s.execute(text(
                "SELECT application_name, count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name LIKE 'bousai-api%' GROUP BY 1"))).all())
        assert open_by_name == {"bousai-api": warm, "bousai-api-raw": warm}
        assert app.state.raw_pg.get_min_size() == warm and app.state.raw_pg.get_idle_size() == warm
