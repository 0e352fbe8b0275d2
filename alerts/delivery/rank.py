"""The danger a resident's matched area is in: the alert-facts model (``alerts.facts``)
read per area code, for one fan-out.

A fan-out is for one document, but what it tells residents is the *danger now* — the
event's facts over the newest document of each of its products (stored with the event at
ingest) — so a document that arrives late, a 報知 repeating a 特別警報, or an observation
product listing a coast without a grade never changes what a resident hears by itself.

Ranks are comparable only within one danger group; 0 means nothing in force there.

=================  =============================================================
group              rank at a matched area (``AreaFacts.rank``)
=================  =============================================================
quake              seismic intensity 1..9 (1 2 3 4 5- 5+ 6- 6+ 7); 未入電 = 5-
eew                1 予報, 2 警報 (the area is under the warning)
tsunami            none 0 < forecast 1 < advisory 2 < warning 3 < major_warning 4
weather            the highest level of the kinds in force: 注意報 2, 警報 3,
landslide, river   危険警報 / 土砂災害警戒情報 / 氾濫危険 4, 特別警報 / 氾濫発生 5
volcano            噴火警戒レベル 2..5 at the municipality (1 = no warning: 0)
evacuation (CAP)   警戒レベル 3/4/5; 0 = 解除
civil_protection   5 (J-ALERT)
other CAP          the CAP severity (Minor 1 … Extreme 4)
=================  =============================================================
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from alerts.facts import (
    AUTHORITY,
    NOTHING,
    STALE_SILENT,
    WARNING,
    AreaFacts,
    GroupFacts,
    combine,
    doc_facts,
    is_stale,
    product_of,
)

SEISMIC = {"earthquake", "eew"}


class AlertRanker:
    """One fan-out's view of the danger: facts per matched area code (cached)."""

    def __init__(self, payload: dict[str, Any], facts: GroupFacts | None = None, *, now: datetime | None = None,
                 issued_at: datetime | None = None):
        self.payload = payload
        self.facts = facts if facts is not None else combine([(0, doc_facts(payload))])
        self.product = product_of(payload)
        self.category = self.facts.category if self.facts.group else (payload.get("category") or "other")
        self.areas = {
            str(a.get("code")): a for a in (payload.get("areas") or []) if isinstance(a, dict) and a.get("code") is not None
        }
        # A life-critical product past its freshness limit is no longer life-critical.
        self.stale = bool(now is not None and is_stale(self.category, self.facts.group, issued_at, now))
        self._cache: dict[str | None, AreaFacts] = {}

    @property
    def lifecycle(self) -> str:
        return self.facts.lifecycle

    @property
    def can_lower(self) -> bool:
        """Only an authority product of a warning-type danger lowers or lifts it."""
        return self.facts.lifecycle == WARNING and self.product.role == AUTHORITY

    @property
    def silent_when_stale(self) -> bool:
        return self.stale and self.facts.group in STALE_SILENT

    def area(self, code: str | None) -> dict[str, Any] | None:
        return self.areas.get(code) if code is not None else None

    def danger(self, area_code: str | None) -> AreaFacts:
        f = self._cache.get(area_code)
        if f is None:
            f = self.facts.at(area_code)
            if f is NOTHING and area_code is not None and area_code not in self.facts.areas:
                f = replace(NOTHING, code=area_code)
            if self.stale and f.life_critical:
                f = replace(f, life_critical=False)
            self._cache[area_code] = f
        return f


def most_specific(facts: GroupFacts, matches, city_of: dict[int, str | None]):
    """Matches re-pointed at the place's own city where the danger knows it: an earthquake
    area report (震度速報, by 地震情報細分区域) matched after a city report (震源・震度情報) of
    the same quake must tell the place's own city's intensity, not its area's maximum."""
    from alerts.targeting.service import Match

    out = []
    for m in matches:
        code = m.area_code
        city = city_of.get(m.place_id)
        if city and code is not None and len(code) == 3:
            for c in (city, city[:5] + "00"):
                if c in facts.areas:
                    m = Match(m.resident_id, m.place_id, m.place_kind, m.device_id, c)
                    break
        out.append(m)
    return out


def needs_city(facts: GroupFacts) -> bool:
    return facts.group == "quake" and any(len(c) == 7 for c in facts.areas)
