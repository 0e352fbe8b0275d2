"""Pure helpers: municipality codes, crowding levels, capacity text."""

from __future__ import annotations

import pytest

from geo.shelters.csvio import parse_capacity
from geo.shelters.records import crowding_level, distance_m, normalize_municipality_code


@pytest.mark.parametrize(
    ("occupancy", "capacity", "level"),
    [
        (0, 100, "empty"),
        (29, 100, "empty"),
        (30, 100, "somewhat_crowded"),
        (59, 100, "somewhat_crowded"),
        (60, 100, "crowded"),
        (79, 100, "crowded"),
        (80, 100, "full"),
        (150, 100, "full"),
        (24, 80, "somewhat_crowded"),  # exactly 30 %: no float rounding below the boundary
        (7, 24, "empty"),  # 29.2 %
        (None, 100, "unknown"),
        (10, None, "unknown"),
        (10, 0, "unknown"),
    ],
)
def test_crowding_levels_follow_vacan_boundaries(occupancy, capacity, level):
    assert crowding_level(occupancy, capacity) == level


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("072010", "072010"),
        ("07201", "072010"),  # 5-digit code gets its check digit
        ("72010", "072010"),  # 072010 stored as a number lost its zero
        ("72010.0", "072010"),
        ("100000", None),  # prefecture 10 exists but the check digit is 5
        ("０７２０３６", "072036"),  # full-width digits
        ("072011", None),  # wrong check digit
        ("999999", None),
        ("abc", None),
        (None, None),
    ],
)
def test_municipality_codes_are_checked(value, expected):
    assert normalize_municipality_code(value) == expected


@pytest.mark.parametrize(
    ("text", "capacity"),
    [
        ("屋内480人／屋外3,350人(面積の1/2)", 480),
        ("屋内1,371人／屋外5,470人（面積の1/2）", 1371),
        ("屋内0人／屋外277人(面積の1/2)", 277),  # outdoor-only site
        ("屋外3,350人", 3350),
        ("575", 575),
        ("1,375", 1375),
        ("１２０人", 120),
        ("120.0", 120),
        ("体育館299校庭2090", 299),
        ("約200名", 200),
        ("未定", None),
        ("", None),
        (None, None),
    ],
)
def test_capacity_text_is_parsed_defensively(text, capacity):
    assert parse_capacity(text) == capacity


def test_distance_is_geodesic():
    # 0.01° of latitude is ~1,111 m; 0.01° of longitude at 37°N is ~888 m.
    assert distance_m(37.0, 140.0, 37.01, 140.0) == pytest.approx(1111.9, abs=1)
    assert distance_m(37.0, 140.0, 37.0, 140.01) == pytest.approx(888.0, abs=2)
