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
CIVIL_PROTECTION_EVENTS = ("弾道ミサイル", "航空攻撃", "ゲリラ", "特殊部隊", "大規模テロ", "国民保護")
SHELTER_STATUSES = {"open": "open", "opened": "open", "開設": "open", "close": "close", "closed": "close", "閉鎖": "close"}

# Evacuation information words (避難情報に関するガイドライン, 2021) → 警戒レベル.
_EVAC_WORDS = (("緊急安全確保", 5), ("避難指示", 4), ("高齢者等避難", 3))


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


def evacuation_level(event_codes: dict[str, list[str]], headline: str | None, event: str | None) -> int | None:
    for v in event_codes.get(EVACUATION_LEVEL_KEY, []):
        v = nfkc(v).strip()
        if v in ("0", "3", "4", "5"):
            return int(v)
    text = nfkc(headline) + " " + nfkc(event)
    if "解除" in text and "避難" in text:
        return 0
    m = re.search(r"警戒レベル\s*([345])", text)
    if m:
        return int(m.group(1))
    for word, lvl in _EVAC_WORDS:
        if word in text:
            return lvl
    return None


_KEYWORDS = (
    # order matters: the most specific first
    ("civil_protection", ("弾道ミサイル", "航空攻撃", "ゲリラ", "特殊部隊", "大規模テロ", "国民保護", "missile", "air raid", "terror", "civil defense", "civil danger")),
    ("shelter", ("避難所開設", "避難所", "shelter")),
    ("evacuation", ("避難指示", "避難勧告", "高齢者等避難", "緊急安全確保", "避難情報", "evacuat")),
    ("eew", ("緊急地震速報", "earthquake early warning")),
    ("tsunami", ("津波", "tsunami")),
    ("earthquake", ("地震", "earthquake")),
    ("volcano", ("噴火", "火山", "volcan", "ashfall")),
    ("landslide", ("土砂", "landslide", "mudslide", "debris flow")),
    ("flood", ("洪水", "氾濫", "浸水", "flood")),
    ("tornado", ("竜巻", "tornado")),
    ("heavy_rain", ("記録的短時間大雨", "大雨", "heavy rain")),
)


def category_for(event: str | None, cap_categories: list[str], event_codes: dict[str, list[str]]) -> str:
    if EVACUATION_LEVEL_KEY in event_codes:
        return "evacuation"
    if SHELTER_STATUS_KEY in event_codes:
        return "shelter"
    if CIVIL_PROTECTION_KEY in event_codes:
        return "civil_protection"
    text = nfkc(event).lower()
    for cat, words in _KEYWORDS:
        if any(w in text for w in words):
            return cat
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
