"""Message catalogs for what my_evacuation says to residents: ``messages/<lang>.json``.

A language is a data file: add ``messages/ko.json`` with the same keys and it is used. A
key missing from a catalog falls back to English, then Japanese, so a partial translation
never produces an empty message. Member labels, destination names and staff free text
are the resident's or staff's own words and are never translated.
"""

from __future__ import annotations

from pathlib import Path

from server.i18n import catalog_languages, load_catalog

MESSAGES_DIR = Path(__file__).resolve().parent / "messages"
FALLBACKS = ("en", "ja")


def catalog(language: str) -> dict[str, str]:
    return load_catalog(MESSAGES_DIR, language)


def available_languages() -> list[str]:
    return catalog_languages(MESSAGES_DIR)


def resolve_language(language: str | None) -> str:
    """'en-US' → 'en', 'zh-Hans' stays if present; unknown → 'en' (foreign residents read
    English more often than Japanese)."""
    if not language:
        return "ja"
    if catalog(language):
        return language
    base = language.split("-")[0].split("_")[0].lower()
    return base if catalog(base) else "en"


def t(language: str | None, key: str, **params) -> str:
    lang = resolve_language(language)
    for cand in (lang, *FALLBACKS):
        text = catalog(cand).get(key)
        if text is not None:
            return text.format(**params) if params else text
    raise KeyError(f"message {key!r} is in no catalog")


def join_list(language: str | None, parts: list[str]) -> str:
    return t(language, "list_separator").join(parts)
