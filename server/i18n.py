"""Message catalogs as data: each domain keeps ``messages/<language>.json`` beside its code,
so a new language is a new file, never new code."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson


@lru_cache
def load_catalog(messages_dir: Path, language: str) -> dict[str, Any]:
    """The catalog of ``language`` in ``messages_dir``; empty when there is none."""
    path = messages_dir / f"{language}.json"
    if not path.is_file():
        return {}
    return orjson.loads(path.read_bytes())


def catalog_languages(messages_dir: Path) -> list[str]:
    return sorted(p.stem for p in messages_dir.glob("*.json"))
