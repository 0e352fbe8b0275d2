"""Compose a push (title, body, small data) from templates in ``messages/<lang>.json``.

Templates are data: a new language is a new JSON file with the same keys (missing keys
fall back to English, then Japanese). Free text from the source (JMA headlines, staff
notices) is shown as is: in another language it is prefixed with the language file's
``_meta.untranslated`` marker, unless the CAP message carried text in that language.

Limits: title ≤ ``TITLE_MAX`` and body ≤ ``BODY_MAX`` characters (what iOS and Android
show without truncating on a lock screen); the data payload only carries ids for the app
to pull the rest, far below the 4 KB provider limit.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from server.alert_facts import INTENSITIES, GroupFacts
from server.i18n import catalog_languages, load_catalog

MESSAGES_DIR = Path(__file__).parent / "messages"
# Lock screens show ~65 characters of a title and ~4 lines (~240 characters) of a body.
TITLE_MAX = 65
BODY_MAX = 240
FALLBACK_LANGUAGES = ("en", "ja")
TRANSITIONS = ("new", "raised", "lowered", "cleared", "cancelled")


def load_messages(language: str) -> dict[str, Any]:
    return load_catalog(MESSAGES_DIR, language)


def available_languages() -> list[str]:
    return catalog_languages(MESSAGES_DIR)


def _base_language(language: str | None) -> str:
    return (language or "ja").split("-")[0].split("_")[0].lower()


def lookup(language: str, *path: str) -> tuple[Any, str]:
    """The value at ``path`` in the language's file, else in the fallbacks; with the language used."""
    for lang in (_base_language(language), *FALLBACK_LANGUAGES):
        node: Any = load_messages(lang)
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
            if node is None:
                break
        if node is not None:
            return node, lang
    raise KeyError("/".join(path))


class _SafeDict(dict):
    def __missing__(self, key: str) -> str:
        return ""


_FORMATTER = string.Formatter()


def render(template: str, values: dict[str, Any]) -> str:
    return _FORMATTER.vformat(template, (), _SafeDict(values)).strip()


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class Composed:
    title: str
    body: str
    data: dict[str, str]


# Danger groups whose words differ from their category's (server.alert_facts).
GROUP_TEMPLATES = {"eruption": "eruption", "megaquake": "megaquake", "lpgm": "lpgm", "river": "flood",
                   "quake": "earthquake", "weather": "weather_warning"}


def template_key(category: str, facts: GroupFacts | None) -> str:
    return GROUP_TEMPLATES.get(facts.group, category) if facts is not None and facts.group else category


def subject_for(
    language: str, category: str, rank: int, *, intensity: str | None = None, title: str | None = None,
    unreceived: bool = False,
) -> str:
    """The short name of the danger: 震度5弱, 津波警報, 避難指示 …"""
    try:
        node, lang = lookup(language, "subjects", category)
    except KeyError:
        node, lang = lookup(language, "subjects", "default")
    if isinstance(node, str):  # earthquake: a pattern on the intensity
        names, _ = lookup(lang, "intensity_names")
        if unreceived:  # 震度５弱以上未入電: say what is known, and that the value has not arrived
            return render(node, {"intensity": names.get("unreceived", "5弱以上（未入電）")})
        inten = intensity or (INTENSITIES[rank - 1] if 0 < rank <= len(INTENSITIES) else "")
        return render(node, {"intensity": names.get(inten, inten)})
    tmpl = node.get(str(rank)) or node.get("default") or next(iter(node.values()))
    return render(tmpl, {"rank": rank, "title": title or ""})


def _free_text(language: str, alert: dict[str, Any], field: str = "headline") -> str:
    """Free text in the resident's language when the source has it, else marked untranslated."""
    lang = _base_language(language)
    for info in alert.get("infos") or []:
        if isinstance(info, dict) and _base_language(info.get("language")) == lang and info.get(field):
            return str(info[field])
    text = str(alert.get(field) or "")
    if not text:
        return ""
    if lang == "ja":
        return text
    marker, _ = lookup(language, "_meta", "untranslated")
    return f"{marker}{text}"


def compose(
    *,
    language: str,
    transition: str,
    alert: dict[str, Any],
    alert_id: int,
    event_id: int,
    rank: int,
    told_rank: int | None = None,
    area_name: str | None = None,
    place_kind: str | None = None,
    intensity: str | None = None,
    warning_names: tuple[str, ...] = (),
    guidance: str | None = None,
    facts: GroupFacts | None = None,
    intensity_unreceived: bool = False,
) -> Composed:
    if transition not in TRANSITIONS:
        raise ValueError(f"unknown transition {transition!r}")
    category = template_key(alert.get("category") or "other", facts)
    subject = subject_for(language, category, rank, intensity=intensity, title=alert.get("title") or alert.get("headline"),
                          unreceived=intensity_unreceived)
    told_subject = subject_for(language, category, told_rank if told_rank is not None else rank, title=alert.get("title"))
    places, _ = lookup(language, "place_kinds")
    place = places.get(place_kind or "other", places.get("other", ""))
    names, _ = lookup(language, "intensity_names")
    sep, _ = lookup(language, "_meta", "list_sep")
    warnings = sep.join(warning_names)
    if warnings and _base_language(language) != "ja":
        marker, _ = lookup(language, "_meta", "untranslated")
        warnings = f"{marker}{warnings}"
    detail_tmpl, _ = lookup(language, "eew_detail")
    values = {
        "subject": subject,
        "told_subject": told_subject,
        "area": area_name or "",
        "place": place,
        "rank": rank,
        "intensity": names.get("unreceived", "") if intensity_unreceived else names.get(intensity or "", intensity or ""),
        "warnings": warnings,
        "headline": _free_text(language, alert),
        "title": alert.get("title") or "",
    }
    values["subject_detail"] = render(detail_tmpl, values)
    if transition in ("new", "raised"):
        try:
            tmpl, _ = lookup(language, "new", category)
        except KeyError:
            tmpl, _ = lookup(language, "new", "default")
        title = render(tmpl["title"], values)
        if transition == "raised":
            prefix, _ = lookup(language, "raised", "prefix")
            title = prefix + title
    else:
        try:
            tmpl, _ = lookup(language, transition, category)
        except KeyError:
            tmpl, _ = lookup(language, transition, "default")
        title = render(tmpl["title"], values)
    body = render(tmpl["body"], values)
    if alert.get("is_drill"):
        # A drill says so first, in every language: the label carries 訓練 even where the
        # rest is translated, as public broadcasts in Japan do.
        label, _ = lookup(language, "_meta", "drill_title")
        note, _ = lookup(language, "_meta", "drill_body")
        title, body = label + title, note + body
    if guidance:
        body = clip(body, BODY_MAX - len(guidance) - 1) + "\n" + guidance if len(guidance) < BODY_MAX // 2 else body + "\n" + guidance
    data = {
        "alert_id": str(alert_id),
        "event_id": str(event_id),
        "category": alert.get("category") or "other",
        "kind": transition,
        "rank": str(rank),
    }
    return Composed(title=clip(title, TITLE_MAX), body=clip(body, BODY_MAX), data=data)
