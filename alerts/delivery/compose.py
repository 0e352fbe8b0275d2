"""Compose a push (title, body, small data) from templates in ``messages/<lang>.json``.

Templates are data: a language is a JSON file with the same keys as ``ja.json`` (a test
keeps every catalog complete; a key still missing falls back to English, then Japanese;
``ja-easy`` falls back to Japanese). The 16 languages and how a device's tag is matched
to one of them: ``server.i18n``.

**Action first.** A body is, in this order and within ``BODY_MAX``:

1. what to do now (``actions``: by category and rank, from the alert facts);
2. where and what (``new``/``lowered``/… ``body``: the resident's place, the danger) —
   or, when the household has a plan for it, instead:
3. the household's own plan (``guidance``, from My Evacuation: 「警戒レベル4（自宅）: 祖母は
   今すぐ…」) — whole sentences only: when it does not fit, the plan's last sentences go,
   never half of one;
4. the source's free text (JMA headline, a municipality's reason) only if room remains.
   Japanese free text reaches a Japanese device; another language gets it only when a CAP
   message carried an ``<info>`` in that language, or when the template has nothing else
   to say (then marked ``_meta.untranslated``). JMA section markers (＜概況＞) never lead a
   title or a body.

Titles name the danger (「大雨特別警報・洪水警報」, "Major Tsunami Warning") with the area.

Limits: title ≤ ``TITLE_MAX`` and body ≤ ``BODY_MAX`` characters (what iOS and Android
show without truncating on a lock screen); the data payload only carries ids for the app
to pull the rest, far below the 4 KB provider limit.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from alerts.facts import INTENSITIES, GroupFacts, product_of, warning_kind
from server.i18n import LANGUAGES, catalog_languages, fallbacks, load_catalog, resolve_language

MESSAGES_DIR = Path(__file__).parent / "messages"
AREAS_FILE = Path(__file__).resolve().parents[2] / "fixtures" / "areas" / "fukushima_areas.json"
# Lock screens show ~65 characters of a title and ~4 lines (~240 characters) of a body.
TITLE_MAX = 65
BODY_MAX = 240
FALLBACK_LANGUAGES = ("en", "ja")
TRANSITIONS = ("new", "raised", "lowered", "cleared", "cancelled")
ELLIPSIS = "…"


def load_messages(language: str) -> dict[str, Any]:
    return load_catalog(MESSAGES_DIR, language)


def available_languages() -> list[str]:
    return catalog_languages(MESSAGES_DIR)


def _base_language(language: str | None) -> str:
    return resolve_language(language)


def lookup(language: str, *path: str) -> tuple[Any, str]:
    """The value at ``path`` in the language's file, else in the fallbacks; with the language used."""
    for lang in fallbacks(language):
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
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


# JMA's section markers (＜概況＞, ＜注意警戒事項＞) and bracketed labels at the start of a text.
_MARKERS = re.compile(r"[＜<][^＜＞<>]{1,12}[＞>]\s*")


def strip_markers(text: str | None) -> str:
    return re.sub(r"\s+", " ", _MARKERS.sub("", str(text or ""))).strip()


@lru_cache(maxsize=1)
def _area_readings() -> dict[str, str]:
    """Area name → its official kana reading (JMA's code tables, fixtures/areas)."""
    try:
        data = orjson.loads(AREAS_FILE.read_bytes())
    except (OSError, ValueError):
        return {}
    out: dict[str, str] = {}
    for rows in data.values():
        for row in rows if isinstance(rows, list) else ():
            if isinstance(row, dict) and row.get("name") and row.get("kana"):
                out.setdefault(str(row["name"]), str(row["kana"]))
    return out


def area_for(language: str, name: str | None) -> str:
    """The area's name as the resident reads it: やさしい日本語 gets the kana reading of a
    Fukushima area (いわき市 → いわきし); other languages keep the official name."""
    if not name:
        return ""
    if resolve_language(language) == "ja-easy":
        return _area_readings().get(name, name)
    return name


@dataclass(frozen=True, slots=True)
class Composed:
    title: str
    body: str
    data: dict[str, str]


# Danger groups whose words differ from their category's (alerts.facts).
GROUP_TEMPLATES = {"eruption": "eruption", "megaquake": "megaquake", "lpgm": "lpgm", "river": "flood",
                   "quake": "earthquake", "weather": "weather_warning"}


def template_key(category: str, facts: GroupFacts | None) -> str:
    return GROUP_TEMPLATES.get(facts.group, category) if facts is not None and facts.group else category


def _by_rank(node: Any, rank: int, *extra: str) -> str | None:
    """A rank's entry: ``extra`` keys first (a product family), then the rank itself, then
    the highest numeric key below it (``"5"`` covers 5弱 and over), then ``default``."""
    if isinstance(node, str):
        return node
    if not isinstance(node, dict) or not node:
        return None
    for key in (*extra, str(rank)):
        if key and node.get(key) is not None:
            return node[key]
    lower = [int(k) for k in node if k.lstrip("-").isdigit() and int(k) <= rank]
    if lower:
        return node[str(max(lower))]
    return node.get("default")


def _family(alert: dict[str, Any]) -> str:
    try:
        return product_of(alert).family
    except Exception:  # a malformed payload still gets its words
        return ""


def subject_for(
    language: str, category: str, rank: int, *, intensity: str | None = None, title: str | None = None,
    unreceived: bool = False, family: str = "",
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
    tmpl = node.get(family) if family else None
    tmpl = tmpl or node.get(str(rank)) or node.get("default") or next(iter(node.values()))
    return render(tmpl, {"rank": rank, "title": strip_markers(title)})


def warning_title(language: str, names: tuple[str, ...]) -> list[str]:
    """JMA warning names (大雨特別警報, レベル４大雨危険警報, 洪水警報) in the resident's
    language, strongest first; a kind the catalog does not know keeps JMA's name."""
    kinds, _ = lookup(language, "warning_kinds")
    levels, _ = lookup(language, "weather_names")
    out: list[tuple[int, str]] = []
    for name in names:
        kl = warning_kind(name)
        if kl is None:
            continue
        kind, level = kl
        tmpl = levels.get(str(level))
        word = kinds.get(kind)
        if tmpl is None or word is None:
            text = strip_markers(name)
        else:
            text = render(tmpl, {"kind": word})
        out.append((level, text))
    out.sort(key=lambda x: -x[0])
    return list(dict.fromkeys(text for _, text in out))


def _info_in(language: str, alert: dict[str, Any], field: str = "headline") -> str:
    """The source's own text in the resident's language (a CAP <info>), else ''."""
    lang = resolve_language(language)
    for info in alert.get("infos") or []:
        if isinstance(info, dict) and info.get(field) and resolve_language(info.get("language")) == lang:
            if lang in ("ja", "ja-easy") and not str(info.get("language") or "").lower().startswith(lang.lower()):
                continue
            return strip_markers(info[field])
    return ""


def _free_text(language: str, alert: dict[str, Any], field: str = "headline", *, essential: bool = True) -> str:
    """Free text in the resident's language when the source has it. Otherwise Japanese text
    goes to Japanese readers as is, and to others only when it is ``essential`` (the
    template says nothing else), marked as not translated."""
    own = _info_in(language, alert, field)
    if own:
        return own
    text = strip_markers(alert.get(field))
    if not text:
        return ""
    lang = resolve_language(language)
    if lang == "ja":
        return text
    if not essential:
        return ""
    if lang == "ja-easy":
        return text
    marker, _ = lookup(language, "_meta", "untranslated")
    return f"{marker}{text}"


def _sentences(text: str, sep: str) -> list[str]:
    """Whole sentences of ``text`` (each keeps its separator)."""
    if not sep or sep.strip() == "":
        return [text]
    parts, out = text.split(sep), []
    for i, p in enumerate(parts):
        if not p and i == len(parts) - 1:
            continue
        out.append(p + (sep if i < len(parts) - 1 else ""))
    return [s for s in out if s.strip()]


_NO_SPACE_AFTER = ("。", "！", "？", "」", "）")


def _inline(a: str, b: str) -> str:
    """Two sentences in a row: no space after a full-width stop (Japanese, Chinese)."""
    if not a or not b:
        return a or b
    return a + b if a.endswith(_NO_SPACE_AFTER) else a + " " + b


def fit_body(action: str, fact: str, guidance: str | None, free: str, sep: str, limit: int = BODY_MAX) -> str:
    """Action, fact, plan, free text — within ``limit``; the plan is never cut mid-sentence.

    With a plan, the fact gives way to it (the plan's header names the place and the level,
    the title the danger). Then what gives way, in order: the free text, the plan's last
    sentences (what to take: the pull has the whole plan, "…" says there is more), and only
    then the general action (the plan's first sentence is this household's own action)."""
    def join(head: str, plan: str = "", tail: str = "") -> str:
        return "\n".join(p for p in (head, plan, tail) if p).strip()

    def with_free(body: str, head: str, plan: str) -> str:
        room = limit - len(body) - 1
        if free and room >= min(24, len(free)):
            return join(head, plan, clip(free, room))
        return body

    if not guidance:
        head = _inline(action, fact)
        return clip(with_free(head, head, ""), limit)
    # The plan's header names the place and the level: the fact would only repeat it.
    plan = guidance.strip()
    body = join(action, plan)
    if len(body) <= limit:
        return with_free(body, action, plan)
    sentences = _sentences(plan, sep)
    for head in (action, ""):
        kept = ""
        for s in sentences:
            if len(join(head, (kept + s).rstrip() + ELLIPSIS)) > limit:
                break
            kept += s
        if kept:
            return join(head, kept.rstrip() + (ELLIPSIS if len(kept.strip()) < len(plan) else ""))
    return clip(plan, limit)  # one sentence longer than a whole body: nothing else can be done


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
    lang = resolve_language(language)
    category = template_key(alert.get("category") or "other", facts)
    family = _family(alert)
    source_title = alert.get("title") or alert.get("headline")
    subject = subject_for(lang, category, rank, intensity=intensity, title=source_title,
                          unreceived=intensity_unreceived, family=family)
    told_subject = subject_for(lang, category, told_rank if told_rank is not None else rank, title=source_title,
                               family=family)
    places, _ = lookup(lang, "place_kinds")
    place = places.get(place_kind or "other", places.get("other", ""))
    names, _ = lookup(lang, "intensity_names")
    sep, _ = lookup(lang, "_meta", "list_sep")
    named = warning_title(lang, tuple(warning_names)) if warning_names else []
    if category == "weather_warning" and named and transition in ("new", "raised"):
        subject = sep.join(named[:2])
    detail_tmpl, _ = lookup(lang, "eew_detail" if intensity or intensity_unreceived else "eew_detail_unknown")
    values = {
        "subject": subject,
        "told_subject": told_subject,
        "area": area_for(lang, area_name),
        "place": place,
        "rank": rank,
        "intensity": names.get("unreceived", "") if intensity_unreceived else names.get(intensity or "", intensity or ""),
        "warnings": sep.join(named) or subject,
        "headline": "",
        "title": strip_markers(alert.get("title")),
    }
    values["subject_detail"] = render(detail_tmpl, values)
    key = category
    if transition in ("new", "raised"):
        try:
            tmpl, _ = lookup(lang, "new", category)
        except KeyError:
            tmpl, key = lookup(lang, "new", "default")[0], "default"
    else:
        try:
            tmpl, _ = lookup(lang, transition, category)
        except KeyError:
            tmpl, _ = lookup(lang, transition, "default")
    # The template carries the facts unless its body is only the source's own words.
    essential = "{headline}" in tmpl["body"]
    free = _free_text(lang, alert, essential=essential)
    if essential:
        values["headline"] = free
        free = ""
    title = render(tmpl["title"], values)
    if transition == "raised":
        prefix, _ = lookup(lang, "raised", "prefix")
        title = prefix + title
    fact = render(tmpl["body"], values)
    action = ""
    if transition in ("new", "raised") and not alert.get("msg_type") == "cancel":
        try:
            node, _ = lookup(lang, "actions", key)
            action = render(_by_rank(node, rank, family) or "", values)
        except KeyError:
            action = ""
    if alert.get("is_drill"):
        # A drill says so first, in every language: the label carries 訓練 even where the
        # rest is translated, as public broadcasts in Japan do.
        label, _ = lookup(lang, "_meta", "drill_title")
        note, _ = lookup(lang, "_meta", "drill_body")
        title, action = label + title, _inline(note.strip(), action)
    sentence_sep, _ = lookup(lang, "_meta", "sentence_sep")
    body = fit_body(action, fact, guidance, free, sentence_sep)
    data = {
        "alert_id": str(alert_id),
        "event_id": str(event_id),
        "category": alert.get("category") or "other",
        "kind": transition,
        "rank": str(rank),
    }
    return Composed(title=clip(title, TITLE_MAX), body=clip(body, BODY_MAX), data=data)


def pull_title(language: str, category: str, rank: int, *, headline: str | None = None,
               facts: GroupFacts | None = None, area_name: str | None = None) -> str:
    """A pull list item's title in the resident's language: the danger's name (and area),
    from the same subjects as pushes; the source's headline stays beside it, in its own
    language, flagged as such by the caller (``headline_language``: ``ja`` for JMA)."""
    key = template_key(category or "other", facts)
    lang = resolve_language(language)
    subject = subject_for(lang, key, rank, title=headline)
    area = area_for(lang, area_name)
    return clip(f"{subject} {area}".strip() if area else subject, TITLE_MAX)


__all__ = ["pull_title", "LANGUAGES", "Composed", "compose", "fit_body", "lookup", "render", "strip_markers",
           "subject_for",
           "warning_title", "TITLE_MAX", "BODY_MAX"]
