"""Importing a module that may not be built in this checkout (a domain's optional part)."""

from __future__ import annotations

import importlib
from types import ModuleType


def optional_import(name: str) -> ModuleType | None:
    """The module, or None when it (or a package above it) does not exist. An import error
    *inside* an existing module — a bug or a missing dependency — still raises."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            return None
        raise
