"""A danger group: the newest document of each product, combined into the danger now."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from alerts.facts.documents import DocFacts, _stronger
from alerts.facts.vocabulary import AUTHORITY, FRESHNESS, INFO, NOTHING, SUPPLEMENT, WARNING, AreaFacts



@dataclass(frozen=True, slots=True)
class GroupFacts:
    """The state of one danger now: per area, over the newest document of each product."""

    group: str
    category: str
    lifecycle: str
    areas: dict[str, AreaFacts]
    default: AreaFacts
    in_force: bool
    cancelled: bool
    products: dict[str, int] = field(default_factory=dict)  # family → alert id of its newest document
    # An authority product stands among the newest documents: only then can "nothing in
    # force" mean lifted (a 報知 or an observation alone never lifts a warning).
    authoritative: bool = False

    def at(self, code: str | None) -> AreaFacts:
        if code is None:
            return self.default
        return self.areas.get(code, self.default if self.default.code is None and self.default.rank else NOTHING)

    @property
    def max(self) -> AreaFacts:
        best = self.default
        for a in self.areas.values():
            if (a.level, a.rank) > (best.level, best.rank):
                best = a
        return best

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group, "category": self.category, "lifecycle": self.lifecycle,
            "areas": {c: a.to_json() for c, a in self.areas.items()}, "default": self.default.to_json(),
            "in_force": self.in_force, "cancelled": self.cancelled, "products": self.products,
            "authoritative": self.authoritative,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> GroupFacts:
        return cls(
            group=str(d.get("group") or ""), category=str(d.get("category") or "other"),
            lifecycle=str(d.get("lifecycle") or WARNING),
            areas={c: AreaFacts.from_json(a) for c, a in (d.get("areas") or {}).items()},
            default=AreaFacts.from_json(d.get("default") or {"code": None}),
            in_force=bool(d.get("in_force")), cancelled=bool(d.get("cancelled")),
            products={str(k): int(v) for k, v in (d.get("products") or {}).items()},
            authoritative=bool(d.get("authoritative")),
        )


def newest_per_product(docs: Iterable[tuple[int, DocFacts]]) -> dict[str, tuple[int, DocFacts]]:
    """The newest document of each product family: report time, then Serial, then arrival."""
    best: dict[str, tuple[int, DocFacts]] = {}
    for alert_id, d in docs:
        cur = best.get(d.product.family)
        if cur is None or (d.order, alert_id) > (cur[1].order, cur[0]):
            best[d.product.family] = (alert_id, d)
    return best


def combine(docs: Iterable[tuple[int, DocFacts]]) -> GroupFacts:
    """The danger now from every stored document of one group (any order of arrival)."""
    newest = newest_per_product(docs)
    if not newest:
        return GroupFacts("", "other", WARNING, {}, NOTHING, False, False)
    any_doc = next(iter(newest.values()))[1]
    group, category = any_doc.product.group, any_doc.product.category
    lifecycle = any_doc.product.lifecycle
    live = [(i, d) for i, d in newest.values() if not d.is_cancel and d.product.role != INFO]
    cancelled = all(d.is_cancel for _, d in newest.values())
    if group == "eew" and any(d.is_cancel for _, d in newest.values()):
        live, cancelled = [], True  # an EEW 取消 withdraws the EEW, 警報 and 予報 alike
    seen_authority = any(d.product.role == AUTHORITY for _, d in newest.values())
    authorities = [d for _, d in live if d.product.role == AUTHORITY]
    if authorities:
        sources = authorities
    elif seen_authority:
        # The authority was withdrawn (取消): what repeated it (津波情報, 報知) is void with it.
        sources, cancelled = [], True
    else:
        sources = [d for _, d in live if d.product.role == SUPPLEMENT]
    areas: dict[str, AreaFacts] = {}
    default = NOTHING
    for d in sources:
        for code, f in d.areas.items():
            areas[code] = f if code not in areas else _stronger(areas[code], f)
        if (d.default.rank, d.default.level) > (default.rank, default.level):
            default = d.default
    in_force = any(a.in_force for a in areas.values()) or default.in_force
    return GroupFacts(group, category, lifecycle, areas, default, in_force, cancelled,
                      {fam: i for fam, (i, _) in newest.items()}, seen_authority)


def is_stale(category: str, group: str, issued_at: datetime | None, now: datetime) -> bool:
    """A life-critical product past its freshness limit (``FRESHNESS``)."""
    limit = FRESHNESS.get(group) or FRESHNESS.get(category)
    return bool(limit and issued_at is not None and now - issued_at > limit)
