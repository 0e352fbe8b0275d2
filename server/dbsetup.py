"""Database set-up: create the database and extensions, run migrations. Used by ``bousai setup`` and tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from server.db import sync_url

from server.resources import migrations_dir

# The checkout's alembic.ini (file template for new revisions); an installed wheel has none
# and needs none: the script location comes from the package.
ROOT_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def alembic_config(url: str) -> Config:
    cfg = Config(str(ROOT_INI) if ROOT_INI.is_file() else None)
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.attributes["url"] = url
    return cfg


def create_database(url: str, *, drop: bool = False) -> bool:
    """Create the database named in ``url`` if missing (drop first when asked). Returns True if created."""
    u = make_url(sync_url(url))
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    created = False
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": u.database}).scalar()
        if exists and drop:
            conn.execute(text(f'DROP DATABASE "{u.database}" WITH (FORCE)'))
            exists = False
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{u.database}"'))
            created = True
    admin.dispose()
    eng = create_engine(u, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    eng.dispose()
    return created


def drop_database(url: str) -> None:
    u = make_url(sync_url(url))
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
    admin.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def check(url: str) -> None:
    command.check(alembic_config(url))
