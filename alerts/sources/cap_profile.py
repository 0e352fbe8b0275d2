"""The Japanese municipal CAP profile (see CAP_PROFILE.md) and category mapping.

Kept apart from the CAP reader so the profile — the part municipalities and the
prefecture negotiate — can change without touching XML handling.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

EVACUATION_LEVEL_KEY = "bousai:evacuation-level"
SHELTER_STATUS_KEY = "bousai:shelter-status"
SHELTER_ID_KEY = "bousai:shelter-id"
SHELTER_NAME_KEY = "bousai:shelter-name"
CIVIL_PROTECTION_KEY = "bousai:civil-protection"
JISX0402_SCHEMES = {"jisx0402", "jis x 0402", "jis-x-0402", "lg-code", "lgcode"}

EVACUATION_SEVERITY = {5: "Extreme", 4: "Severe", 3: "Moderate", 0: "Minor"}
# J-ALERT / 国民保護情報 event names as municipalities and the prefecture relay them
# (内閣官房 国民保護ポータル: 弾道ミサイル情報, 航空攻撃情報, ゲリラ・特殊部隊攻撃情報,
# 大規模テロ情報; relays often title a launch 「ミサイル発射情報」).
CIVIL_PROTECTION_EVENTS = ("弾道ミサイル", "ミサイル", "航空攻撃", "ゲリラ", "特殊部隊", "大規模テロ", "国民保護",
                           "武力攻撃", "緊急対処事態")
# IPAWS / EAS (SAME) event codes that are tests by definition, whatever <status> says:
# RMT Required Monthly Test, RWT Required Weekly Test, NPT National Periodic Test, DMO
# Practice/Demo Warning (47 CFR 11.31).
SAME_TEST_CODES = {"RMT", "RWT", "NPT", "DMO"}
SHELTER_STATUSES = {"open": "open", "opened": "open", "開設": "open", "close": "close", "closed": "close", "閉鎖": "close"}

# Evacuation information words (避難情報に関するガイドライン, 2021) → 警戒レベル, highest
# first. 避難勧告 was abolished by the 2021 amendment of the 災害対策基本法 (in force
# 2021-05-20) and folded into 避難指示; 避難準備・高齢者等避難開始 was renamed 高齢者等避難.
# Old wording still arrives from old templates: it is read as today's level, with a note.
_EVAC_WORDS = (("緊急安全確保", 5), ("避難指示", 4), ("避難勧告", 4), ("高齢者等避難", 3), ("避難準備", 3))
_OBSOLETE_EVAC_WORDS = {
    "避難勧告": "避難勧告 was abolished in 2021 (災害対策基本法改正); read as 避難指示 (level 4)",
    "避難準備": "避難準備・高齢者等避難開始 was renamed 高齢者等避難 in 2021; read as level 3",
}
_EVAC_WORD_RE = "|".join(w for w, _ in _EVAC_WORDS)
# A lift names what it lifts: 「避難指示を解除」「避難指示解除」「高齢者等避難の解除」.
_LIFT_RE = re.compile(rf"(?:{_EVAC_WORD_RE})[^。\n]{{0,20}}?解除|避難情報[^。\n]{{0,6}}解除")


def nfkc(s: str | None) -> str:
    return unicodedata.normalize("NFKC", s or "")


def jisx0402_check_digit(code5: str) -> str:
    """全国地方公共団体コード check digit: weights 6..2, mod 11, (11 - r) mod 10."""
    s = sum(int(d) * w for d, w in zip(code5, (6, 5, 4, 3, 2)))
    return str((11 - s % 11) % 10)


def normalize_municipality_code(value: str) -> tuple[str | None, str | None]:
    """5- or 6-digit 団体コード → (6-digit code, warning). Invalid → (None, warning)."""
    v = nfkc(value).strip()
    if re.fullmatch(r"\d{5}", v):
        return v + jisx0402_check_digit(v), None
    if re.fullmatch(r"\d{6}", v):
        if jisx0402_check_digit(v[:5]) != v[5]:
            return v, f"municipality code {v} has a wrong check digit"
        return v, None
    return None, f"not a municipality code: {v[:20]!r}"


def evacuation_level(event_codes: dict[str, list[str]], headline: str | None, event: str | None,
                     description: str | None = None, warnings: list[str] | None = None) -> int | None:
    """警戒レベル of an evacuation message: the eventCode when present, else the level
    words of event + headline, else those of the description (a lift there must be
    spelled as one: 「避難指示を解除」). Obsolete words add a note to ``warnings``."""
    for v in event_codes.get(EVACUATION_LEVEL_KEY, []):
        v = nfkc(v).strip()
        if v in ("0", "3", "4", "5"):
            return int(v)
    for text, strict in ((nfkc(headline) + " " + nfkc(event), False), (nfkc(description), True)):
        level = _level_from_words(text, strict, warnings)
        if level is not None:
            return level
    return None


def _level_from_words(text: str, strict_lift: bool, warnings: list[str] | None) -> int | None:
    if not text.strip():
        return None
    if _LIFT_RE.search(text) or (not strict_lift and "解除" in text and "避難" in text):
        return 0
    m = re.search(r"警戒レベル\s*([345])", text)
    if m:
        return int(m.group(1))
    for word, lvl in _EVAC_WORDS:
        if word in text:
            if word in _OBSOLETE_EVAC_WORDS and warnings is not None:
                warnings.append(_OBSOLETE_EVAC_WORDS[word])
            return lvl
    return None


def has_evacuation_words(*texts: str | None) -> bool:
    """Whether a text names an evacuation level (a CAP without the bousai eventCode)."""
    t = " ".join(nfkc(x) for x in texts)
    return any(w in t for w, _ in _EVAC_WORDS)


def _names_an_order(headline: str | None) -> bool:
    # 「警戒レベル3相当」 is JMA's wording for a weather warning's level, not an order; a
    # headline about when to order (「避難指示の目安」「…判断の参考」) is not one either.
    h = nfkc(headline)
    return has_evacuation_words(h) and not any(w in h for w in ("相当", "目安", "判断", "参考"))


def is_same_test(event_codes: dict[str, list[str]]) -> str | None:
    """The SAME test code (RMT, RWT, …) when an IPAWS/EAS message is a test."""
    for key, values in event_codes.items():
        if key.strip().upper() == "SAME":
            for v in values:
                if nfkc(v).strip().upper() in SAME_TEST_CODES:
                    return nfkc(v).strip().upper()
    return None


_KEYWORDS = (
    # order matters: the most specific first
    ("civil_protection", CIVIL_PROTECTION_EVENTS + ("missile", "air raid", "terror", "civil defense", "civil danger")),
    ("shelter", ("避難所開設", "避難所", "shelter")),
    ("evacuation", ("避難指示", "避難勧告", "高齢者等避難", "緊急安全確保", "避難準備", "避難情報", "evacuat")),
    ("eew", ("緊急地震速報", "earthquake early warning")),
    ("tsunami", ("津波", "tsunami")),
    ("earthquake", ("地震", "earthquake")),
    ("volcano", ("噴火", "火山", "volcan", "ashfall")),
    ("landslide", ("土砂", "landslide", "mudslide", "debris flow")),
    ("flood", ("洪水", "氾濫", "浸水", "flood")),
    ("tornado", ("竜巻", "tornado")),
    ("heavy_rain", ("記録的短時間大雨", "大雨", "heavy rain")),
)


def category_for(event: str | None, cap_categories: list[str], event_codes: dict[str, list[str]],
                 headline: str | None = None) -> str:
    if EVACUATION_LEVEL_KEY in event_codes:
        return "evacuation"
    if SHELTER_STATUS_KEY in event_codes:
        return "shelter"
    if CIVIL_PROTECTION_KEY in event_codes:
        return "civil_protection"
    text = nfkc(event).lower()
    for cat, words in _KEYWORDS:
        if any(w in text for w in words):
            if cat not in ("civil_protection", "shelter", "evacuation") and _names_an_order(headline):
                # 「洪水」 as the event but 【警戒レベル4】避難指示 in the headline: the
                # municipality's order is the message, the hazard is its reason.
                return "evacuation"
            return cat
    if _names_an_order(headline):
        return "evacuation"
    cats = {c.strip().lower() for c in cap_categories}
    if "met" in cats and "fire" not in cats:  # a bushfire tagged Met is not a weather warning
        return "weather_warning"
    if "geo" in cats:
        return "other"  # Geo without a recognisable event: don't guess earthquake
    return "other"


def shelters_from(params: list[tuple[str, str]], event_codes: dict[str, list[str]]) -> list[dict[str, Any]]:
    """``bousai:shelter-id`` parameters (one per shelter, 自治体標準オープンデータセット
    ID) with the document-wide ``bousai:shelter-status``. A parameter value may carry
    its own status as ``ID|open``."""
    default = None
    for v in event_codes.get(SHELTER_STATUS_KEY, []):
        default = SHELTER_STATUSES.get(nfkc(v).strip().lower(), default)
    names = [v for k, v in params if k == SHELTER_NAME_KEY]
    out = []
    for i, (k, v) in enumerate([p for p in params if p[0] == SHELTER_ID_KEY]):
        sid, _, st = nfkc(v).partition("|")
        entry: dict[str, Any] = {"id": sid.strip(), "status": SHELTER_STATUSES.get(st.strip().lower(), default)}
        if i < len(names):
            entry["name"] = names[i]
        out.append(entry)
    return out
