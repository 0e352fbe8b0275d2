"""The Japanese municipal CAP profile (fixtures/cap, documented in CAP_PROFILE.md)."""

from __future__ import annotations

from alerts.sources.cap_profile import jisx0402_check_digit, normalize_municipality_code


def test_level4_evacuation_order(parse_fixture):
    d = parse_fixture("evacuation_level4_fukushima.xml")
    assert (d["category"], d["level"], d["severity"], d["msg_type"]) == ("evacuation", 4, "Severe", "alert")
    assert d["areas"][0]["code"] == "072010" and d["areas"][0]["kind"] == "municipality"
    assert d["geometry"]["coordinates"][0][0] == [140.476, 37.746]
    assert d["expires_at"] == "2025-08-11T14:00:00+09:00"


def test_update_raises_to_level5_and_attaches_to_original(parse_fixture):
    first = parse_fixture("evacuation_level4_fukushima.xml")
    d = parse_fixture("evacuation_level5_update.xml")
    assert (d["msg_type"], d["level"], d["severity"]) == ("update", 5, "Extreme")
    assert d["event_id"] == first["event_id"]
    assert d["areas"][0]["code"] == "072010"  # 5-digit 07201 normalized with its check digit


def test_cancel_without_info_attaches_to_original(parse_fixture):
    d = parse_fixture("evacuation_cancel.xml")
    assert d["msg_type"] == "cancel" and d["event_id"] == "urn:bousai:072010:evac:2025-0001"
    assert len(d["references"]) == 2


def test_lifted_is_level_0_minor(parse_fixture):
    d = parse_fixture("evacuation_lifted.xml")
    assert (d["category"], d["level"], d["severity"]) == ("evacuation", 0, "Minor")


def test_shelter_open(parse_fixture):
    d = parse_fixture("shelter_open.xml")
    assert d["category"] == "shelter"
    assert d["shelters"] == [
        {"id": "gsi:E0720100153111", "status": "open", "name": "渡利小学校"},
        {"id": "E0720100161111", "status": "open", "name": "南向台小学校"},
    ]
    assert d["circles"] == [{"lat": 37.738, "lon": 140.487, "radius_km": 0.5}]


def test_jalert_missile_is_extreme_civil_protection(parse_fixture):
    d = parse_fixture("jalert_missile.xml")
    assert (d["category"], d["severity"]) == ("civil_protection", "Extreme")


def test_exercise_is_marked_as_drill(parse_fixture):
    d = parse_fixture("evacuation_exercise.xml")
    assert d["is_drill"] is True and d["status"] == "Exercise"


def test_check_digit():
    assert jisx0402_check_digit("07201") == "0"
    assert jisx0402_check_digit("07203") == "6"
    assert jisx0402_check_digit("07545") == "1"  # remainder 0 → 1
    assert normalize_municipality_code("07204") == ("072044", None)
    assert normalize_municipality_code("072045")[1] is not None
