"""Where the files that ship with bousai are, read through ``importlib.resources``.

Reference data (``fixtures/``: areas, shelters, scenarios, CAP samples) and the Alembic
migrations are package data, so an installed wheel finds them in site-packages exactly as a
checkout finds them beside the code. Both are plain directories on disk (bousai is never
run from a zip), so callers get a ``Path``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _package_dir(package: str) -> Path:
    root = files(package)
    if not isinstance(root, Path):  # a zipped install: nothing here can read from it
        raise RuntimeError(f"{package} must be installed as files on disk, not zipped")
    return root


def fixtures_dir() -> Path:
    """The reference data: ``fixtures/`` in a checkout, the ``fixtures`` package when installed."""
    return _package_dir("fixtures")


def migrations_dir() -> Path:
    """Alembic's script location (``server/migrations``)."""
    return _package_dir("server") / "migrations"
