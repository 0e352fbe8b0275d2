"""The lane of an alert's fan-out (``server.lanes``: critical work first), read from its
event's facts: ``critical`` when some area is life-critical and in force — the one
definition of the facts model, read, never redone."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from server.lanes import ALERT, BULK, CRITICAL


def _life_critical_in_force(facts: Any) -> bool:
    if facts is None:
        return False
    if isinstance(facts, Mapping):
        if not facts.get("in_force"):
            return False
        areas: Iterable[Any] = list((facts.get("areas") or {}).values()) + [
            facts.get("default") or {}
        ]
        return any(
            bool(a.get("life_critical")) and bool(a.get("in_force", True))
            for a in areas
        )
    if not getattr(facts, "in_force", False):
        return False
    areas = list(facts.areas.values()) + [facts.default]
    return any(a.life_critical and a.in_force for a in areas)


def lane_of_alert(
    facts: Any,
    *,
    msg_type: str | None = None,
    category: str | None = None,
    is_drill: bool = False,
) -> str:
    """The lane of an alert's fan-out, from its event's facts (the danger now).

    A cancellation is an all-clear (alert lane) whatever it withdraws; a drill is never
    life-critical; a shelter message is a notice, not a hazard (bulk)."""
    if category == "shelter":
        return BULK
    if is_drill or msg_type == "cancel":
        return ALERT
    return CRITICAL if _life_critical_in_force(facts) else ALERT
