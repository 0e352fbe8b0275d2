"""The in-memory shape every shelter source is turned into before it reaches the database.

GSI GeoJSON, the project fixture and 自治体標準 CSV files all produce ``ShelterRecord``;
the repository upserts them. Also the small pure helpers they share (codes, names,
distances, crowding), kept free of I/O so they are trivially testable.
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from dataclasses import asdict, dataclass

from geo.shelters.models import HAZARDS

# VACAN's four levels, as the product asks. Upper bounds are exclusive, in tenths.
CROWDING_LEVELS = ("empty", "somewhat_crowded", "crowded", "full")


@dataclass
class ShelterRecord:
    id: str
    name: str
    municipality_code: str
    lat: float
    lon: float
    source: str
    name_kana: str | None = None
    address: str | None = None
    elevation_m: float | None = None
    # None means "the source does not say": an upsert keeps what the row already has.
    is_emergency_site: bool | None = None
    is_evacuation_center: bool | None = None
    # None: the source has no hazard columns (e.g. an evacuation-centre list); keep the row's.
    hazards: list[str] | None = None
    capacity: int | None = None
    capacity_text: str | None = None
    phone: str | None = None
    url: str | None = None
    districts: str | None = None
    notes: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def check_digit(code5: str) -> str:
    """全国地方公共団体コード check digit: weights 6..2, (11 - sum mod 11) mod 10."""
    s = sum(int(d) * w for d, w in zip(code5, (6, 5, 4, 3, 2)))
    return str((11 - s % 11) % 10)


def _valid6(code: str) -> bool:
    return len(code) == 6 and 1 <= int(code[:2]) <= 47 and check_digit(code[:5]) == code[5]


def normalize_municipality_code(value: str | None) -> str | None:
    """A valid 6-digit code, or None. Spreadsheet damage is repaired: a 5-digit value whose first
    two digits are a prefecture (01–47) is a code without its check digit (07201 → 072010);
    otherwise it is a 6-digit code that lost its leading zero (72010, from 072010 stored as a
    number). Hokkaido codes that lost their zero (13013 from 013013) read the first way."""
    if value is None:
        return None
    v = unicodedata.normalize("NFKC", str(value)).strip()
    if v.endswith(".0"):
        v = v[:-2]
    if not v.isdigit():
        return None
    if len(v) == 5:
        if 1 <= int(v[:2]) <= 47:
            return v + check_digit(v)
        padded = "0" + v
        return padded if _valid6(padded) else None
    return v if _valid6(v) else None


def normalize_name(name: str) -> str:
    """Key for comparing facility names across sources: NFKC, no spaces, casefolded."""
    n = unicodedata.normalize("NFKC", name or "")
    return "".join(n.split()).casefold()


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius): metres-accurate at shelter scales."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def derived_id(prefix: str, municipality_code: str, name: str, lat: float, lon: float) -> str:
    """Stable id for a source row that has no id of its own: name + position (~1 m)."""
    h = hashlib.sha1(f"{normalize_name(name)}|{lat:.5f}|{lon:.5f}".encode()).hexdigest()[:12]
    return f"{prefix}:{municipality_code}:{h}"


def crowding_level(occupancy: int | None, capacity: int | None) -> str:
    """VACAN levels: empty < 30 %, somewhat_crowded 30–60 %, crowded 60–80 %, full ≥ 80 %.

    Integer arithmetic so the boundaries are exact (24 of 80 is 30 %, not 29.999…).
    """
    if occupancy is None or not capacity or capacity <= 0:
        return "unknown"
    tenths = occupancy * 10
    if tenths < capacity * 3:
        return "empty"
    if tenths < capacity * 6:
        return "somewhat_crowded"
    if tenths < capacity * 8:
        return "crowded"
    return "full"


def order_hazards(hazards) -> list[str]:
    """Known hazards only, de-duplicated, in GSI's column order."""
    s = set(hazards)
    return [h for h in HAZARDS if h in s]
