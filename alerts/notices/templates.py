"""Render evacuation information per language from ``templates.json`` (messages are data)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from my_evacuation.residents.schemas import LANGUAGES

TEMPLATES_FILE = Path(__file__).with_name("templates.json")
FALLBACK = "en"


@lru_cache
def catalog() -> dict:
    return json.loads(TEMPLATES_FILE.read_text(encoding="utf-8"))


def template_keys() -> list[str]:
    return list(catalog()["templates"])


def phrase(group: str, lang: str, key: str | None = None) -> str:
    table = catalog()[group]
    if key is not None:
        table = table[key]
    return table.get(lang) or table[FALLBACK]


def template_reason(template: str, lang: str = "ja") -> str | None:
    t = catalog()["templates"].get(template) or {}
    reason = t.get("reason") or {}
    return reason.get(lang) or reason.get("ja")


def render(
    *,
    level: int,
    msg_type: str,
    is_drill: bool,
    area_label: str,
    shelter_names: list[str],
    reason: str | None,
) -> dict[str, dict[str, str]]:
    """{lang: {headline, body}} for every supported language. Drills carry the drill label in
    each language (and 訓練 in all of them), corrections and cancellations say so up front."""
    out: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        prefix = ""
        if is_drill:
            prefix += phrase("drill", lang)
        if msg_type == "update":
            prefix += phrase("correction", lang)
        level_label = phrase("levels", lang, str(level))
        if msg_type == "cancel":
            headline = f"{prefix}{phrase('cancel', lang)}"
            body_parts = [f"{level_label} — {phrase('area', lang).format(area=area_label)}"]
        else:
            headline = f"{prefix}{level_label}"
            body_parts = [phrase("area", lang).format(area=area_label), phrase("actions", lang, str(level))]
            if shelter_names and level != 0:
                body_parts.append(phrase("shelters", lang).format(shelters="、".join(shelter_names) if lang.startswith("ja") else ", ".join(shelter_names)))
        if reason:
            body_parts.append(phrase("reason", lang).format(reason=reason))
        out[lang] = {"headline": headline, "body": "\n".join(body_parts)}
    return out
