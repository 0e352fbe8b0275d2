"""Message catalogs for what my_evacuation says to residents: ``messages/<lang>.json``.

A language is a data file with the same keys as ``messages/ja.json`` (a test keeps all 16
complete). A key still missing falls back to English, then Japanese (やさしい日本語 to
Japanese first), so a partial translation never produces an empty message. Tags are
matched to the 16 languages by ``server.i18n.resolve_language`` (zh-TW → zh-Hant, pt-BR →
pt, fil → tl, ja-x-easy → ja-easy; unknown → en). Member labels, destination names and staff free text
are the resident's or staff's own words and are never translated.
"""

from __future__ import annotations

from pathlib import Path

from server.i18n import catalog_languages, fallbacks, load_catalog
from server.i18n import resolve_language as _resolve

MESSAGES_DIR = Path(__file__).resolve().parent / "messages"


def catalog(language: str) -> dict[str, str]:
    return load_catalog(MESSAGES_DIR, language)


def available_languages() -> list[str]:
    return catalog_languages(MESSAGES_DIR)


def resolve_language(language: str | None) -> str:
    """One of the 16 languages: 'en-US' → 'en', 'zh-TW' → 'zh-Hant'; unknown → 'en'
    (foreign residents read English more often than Japanese); none → 'ja'."""
    return _resolve(language)


def t(language: str | None, key: str, **params) -> str:
    for cand in fallbacks(resolve_language(language)):
        text = catalog(cand).get(key)
        if text is not None:
            return text.format(**params) if params else text
    raise KeyError(f"message {key!r} is in no catalog")


def join_list(language: str | None, parts: list[str]) -> str:
    return t(language, "list_separator").join(parts)
