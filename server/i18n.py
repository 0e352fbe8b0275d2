"""Message catalogs as data: each domain keeps ``messages/<language>.json`` beside its code,
so a new language is a new file, never new code.

The languages residents may choose (PRODUCT.md: the 14 of JMA's multilingual dictionary
and the national apps, English, and やさしい日本語 ``ja-easy``) are ``LANGUAGES``; a tag a
device sends is matched to one of them by ``resolve_language`` (``zh-TW`` → ``zh-Hant``,
``pt-BR`` → ``pt``, ``fil`` → ``tl``, ``ja-x-easy`` → ``ja-easy``); an unknown tag reads
English, which foreign residents read more often than Japanese.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

LANGUAGES = (
    "ja", "ja-easy", "en", "zh-Hans", "zh-Hant", "ko", "vi", "pt", "es", "id", "tl", "th", "ne", "km", "my", "mn",
)  # fmt: skip

# Tags (lower case, '_' read as '-') that name one of LANGUAGES otherwise.
_ALIASES = {
    "zh": "zh-Hans", "zh-cn": "zh-Hans", "zh-sg": "zh-Hans", "zh-hans-cn": "zh-Hans", "zh-hans": "zh-Hans",
    "zh-hant": "zh-Hant", "zh-tw": "zh-Hant", "zh-hk": "zh-Hant", "zh-mo": "zh-Hant", "zh-hant-tw": "zh-Hant",
    "zh-hant-hk": "zh-Hant",
    "ja-easy": "ja-easy", "ja-x-easy": "ja-easy", "ja-x-yasashii": "ja-easy", "ja-easy-jp": "ja-easy",
    "fil": "tl", "tl": "tl", "pt-br": "pt", "pt-pt": "pt", "in": "id",
}
_CANONICAL = {lang.lower(): lang for lang in LANGUAGES}


def match_language(tag: str | None) -> str | None:
    """The one of ``LANGUAGES`` a BCP 47 tag names, or None."""
    if not tag or not isinstance(tag, str):
        return None
    t = tag.strip().replace("_", "-").lower()
    if t in _CANONICAL:
        return _CANONICAL[t]
    if t in _ALIASES:
        return _ALIASES[t]
    parts = t.split("-")
    if parts[0] == "zh":
        # zh-Hant-*, zh-*-TW/HK/MO are traditional; any other Chinese is simplified.
        return "zh-Hant" if any(p in ("hant", "tw", "hk", "mo") for p in parts[1:]) else "zh-Hans"
    if parts[0] == "ja":
        return "ja-easy" if "easy" in parts[1:] or "yasashii" in parts[1:] else "ja"
    base = _ALIASES.get(parts[0], parts[0])
    return _CANONICAL.get(base.lower())


def resolve_language(tag: str | None) -> str:
    """Always one of ``LANGUAGES``: no tag at all is Japanese, an unknown tag English."""
    if not tag:
        return "ja"
    return match_language(tag) or "en"


def fallbacks(language: str) -> tuple[str, ...]:
    """Where a missing key is looked for (a test keeps every catalog complete, so rarely)."""
    lang = resolve_language(language)
    chain = (lang, "ja", "en") if lang == "ja-easy" else (lang, "en", "ja")
    return tuple(dict.fromkeys(chain))


@lru_cache
def load_catalog(messages_dir: Path, language: str) -> dict[str, Any]:
    """The catalog of ``language`` in ``messages_dir``; empty when there is none."""
    path = messages_dir / f"{language}.json"
    if not path.is_file():
        return {}
    return orjson.loads(path.read_bytes())


def catalog_languages(messages_dir: Path) -> list[str]:
    return sorted(p.stem for p in messages_dir.glob("*.json"))
