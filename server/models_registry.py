"""Import every ``models`` module so Base.metadata knows all tables (Alembic, tests)."""

from __future__ import annotations

import importlib
import pkgutil

DOMAIN_PACKAGES = ("server", "geo", "my_evacuation", "alerts")


def import_all_models() -> None:
    for pkg_name in DOMAIN_PACKAGES:
        pkg = importlib.import_module(pkg_name)
        for mod in pkgutil.walk_packages(pkg.__path__, prefix=f"{pkg_name}."):
            if mod.name.endswith(".models"):
                importlib.import_module(mod.name)
