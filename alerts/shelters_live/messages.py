"""Shelter-opening notifications, per resident language (fixed phrases; names as published)."""

from __future__ import annotations

OPENED = {
    "ja": ("避難所開設: {name}", "{name} が開設されました。{why}"),
    "ja-easy": ("ひなんじょ が あきました: {name}", "{name} に ひなん できます。{why}"),
    "en": ("Shelter open: {name}", "{name} is now open. {why}"),
    "zh-Hans": ("避难所开放: {name}", "{name} 已开放。{why}"),
    "zh-Hant": ("避難所開放: {name}", "{name} 已開放。{why}"),
    "ko": ("대피소 개설: {name}", "{name} 이(가) 개설되었습니다. {why}"),
    "es": ("Refugio abierto: {name}", "{name} está abierto. {why}"),
    "pt": ("Abrigo aberto: {name}", "{name} está aberto. {why}"),
    "vi": ("Mở nơi lánh nạn: {name}", "{name} đã mở cửa. {why}"),
}
WHY = {
    "plan": {
        "ja": "あなたの避難計画の避難先です。", "ja-easy": "あなた の ひなん けいかく の ばしょ です。",
        "en": "It is a destination in your evacuation plan.",
    },
    "nearby": {
        "ja": "警報等が出ている地域の近くの避難所です。", "ja-easy": "ちかく の ひなんじょ です。",
        "en": "It is near a place of yours under an active alert.",
    },
}


def opened(lang: str, name: str, reason: str) -> tuple[str, str]:
    title, body = OPENED.get(lang) or OPENED["en"]
    why_table = WHY[reason]
    why = why_table.get(lang) or why_table["en"]
    return title.format(name=name), body.format(name=name, why=why).strip()
