"""Normalized alert dicts for the event tests (the contract shape, without the parsers)."""

from __future__ import annotations


def weather_doc(event_id: str, source_id: str, issued_at: str, statuses: list[str], msg_type: str = "alert") -> dict:
    return {
        "source": "jma",
        "file": None,
        "msg_type": msg_type,
        "event_id": event_id,
        "source_id": source_id,
        "issued_at": issued_at,
        "category": "weather_warning",
        "headline": "福島県に大雨警報",
        "severity": "Severe" if "発表" in statuses or "継続" in statuses else "Minor",
        "expires_at": None,
        "areas": [
            {"code": "0720100", "name": "福島市", "warnings": [{"name": "大雨警報", "status": s}]} for s in statuses
        ],
        "geometry": None,
        "status": "通常",
        "is_drill": False,
    }


def quake_doc(event_id: str, source_id: str, msg_type: str = "alert", issued_at: str = "2026-11-22T10:00:00+09:00"):
    return {
        "source": "jma",
        "file": None,
        "msg_type": msg_type,
        "event_id": event_id,
        "source_id": source_id,
        "issued_at": issued_at,
        "category": "earthquake",
        "headline": "震度５強",
        "severity": "Severe",
        "expires_at": None,
        "areas": [{"code": "250", "name": "福島県浜通り", "intensity": "5+"}],
        "geometry": None,
        "status": "通常",
        "is_drill": False,
    }
