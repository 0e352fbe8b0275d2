from server.dbsetup import check


def test_models_match_migrations(db_url):
    """`alembic check`: the ORM models and the migrations describe the same schema."""
    check(db_url)
