from server.dbsetup import check


def test_models_match_migrations(db_url):
    """`alembic check`: the ORM models and the migrations describe the same schema."""
    check(db_url)


def test_history_has_one_head():
    from alembic.script import ScriptDirectory

    from server.dbsetup import alembic_config

    assert len(ScriptDirectory.from_config(alembic_config("postgresql://unused/x")).get_heads()) == 1
