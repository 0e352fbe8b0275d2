"""The transition decision for one resident and one alert: pure functions, no I/O.

Given what the resident was told before (their ``deliveries`` row, if any), the danger
the alert brings them now, their preferences and the clock, decide whether to push and
what. The danger is the event's facts at the resident's places (``alerts.facts``:
every product's newest document combined), never one document alone. The rules:

- a new danger notifies (unless preferences filter it, or quiet hours hold it; a
  life-critical one is never held);
- a change notifies only when it raises the danger for that resident, or adds (or
  raises) a warning kind at or above what they were told;
- a lowering or an all-clear (rank 0) and a cancellation reach exactly those who were
  told (status ``told`` / ``lowered``), once, and nobody else — and only where the
  danger's lifecycle allows them: an EEW (raise-only), an earthquake report
  (observation) or a flash never lowers; only an authority product lowers or lifts a
  warning (a 報知, a 津波情報 or an offshore observation never does);
- an alert already applied to the row (``last_alert_id >= alert_id``) changes nothing, so a
  stream entry handled twice never pushes twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from alerts.delivery.preferences import Preferences
from alerts.delivery.rank import SEISMIC, AlertRanker
from alerts.facts import FLASH, INTENSITY_RANK, OBSERVATION, RAISE_ONLY, UNRECEIVED_LOWER_BOUND, AreaFacts

TOLD = ("told", "lowered")  # the resident currently believes a danger is in force


@dataclass(frozen=True, slots=True)
class Prior:
    id: int
    status: str
    rank: int
    max_rank: int
    last_alert_id: int
    critical: bool = False  # what they were told was life-critical
    kinds: tuple[str, ...] = ()  # warning kinds they were told are in force, as "kind:level"

    @property
    def kind_levels(self) -> dict[str, int]:
        return kind_levels(self.kinds)

    @classmethod
    def of(cls, row) -> Prior:
        """From a ``deliveries`` row (``id, status, rank, max_rank, last_alert_id, critical, kinds``)."""
        return cls(row.id, row.status, row.rank, row.max_rank, row.last_alert_id, row.critical,
                   tuple(getattr(row, "kinds", None) or ()))


@dataclass(slots=True)
class Exposure:
    """What one alert means for one resident, over all their matched places."""

    raw_rank: int = 0  # the danger, whatever the preferences (drives lowering and all-clear)
    notify_rank: int = 0  # the danger of the places and warnings the preferences let through
    life_critical: bool = False
    level: int = 0  # common danger scale at the place the message talks about
    place_ids: list[int] = field(default_factory=list)
    current_devices: set[int] = field(default_factory=set)  # devices whose current location matched
    best_area: str | None = None
    best_place_kind: str | None = None
    best_place_id: int | None = None
    intensity: str | None = None
    intensity_unreceived: bool = False
    warning_names: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()  # warning kinds in force that the preferences let through ("kind:level")
    kind_levels: dict[str, int] = field(default_factory=dict)
    facts: AreaFacts | None = None  # the facts at the place the message talks about


def expose(ranker: AlertRanker, prefs: Preferences, matches) -> Exposure:
    """Fold a resident's matches into one Exposure, applying categories, thresholds and warning kinds.
    Life-critical facts pass every preference (one definition: ``alerts.facts``)."""
    ex = Exposure()
    cat = ranker.category
    category_on = prefs.category_on(cat)
    best_key = (-1, -1)
    for m in matches:
        d = ranker.danger(m.area_code)
        ex.place_ids.append(m.place_id)
        if m.place_kind == "current" and m.device_id is not None:
            ex.current_devices.add(m.device_id)
        ex.raw_rank = max(ex.raw_rank, d.rank)
        lc = d.rank > 0 and d.life_critical
        ex.life_critical = ex.life_critical or lc
        counted = d.rank
        if d.tsunami_grade == "forecast":
            # 津波予報（若干の海面変動）: no damage expected. Worth saying to someone who was told of a
            # warning (as its lowering), never worth waking anyone for.
            counted = 0
        kinds = d.kinds
        if not lc:
            if not category_on:
                counted, kinds = 0, ()
            elif cat in SEISMIC and (d.intensity is not None or d.intensity_unreceived):
                threshold = prefs.seismic_threshold(m.place_id) if m.place_kind != "current" else prefs.seismic_threshold(-1)
                inten = d.intensity or UNRECEIVED_LOWER_BOUND
                if INTENSITY_RANK.get(inten, 0) < threshold:
                    counted = 0
            elif kinds:
                kinds = tuple((k, lv) for k, lv in kinds if prefs.warning_counts(k, lv))
                counted = max((lv for _, lv in kinds), default=0)
        for k, lv in kinds:
            ex.kind_levels[k] = max(ex.kind_levels.get(k, 0), lv)
        ex.notify_rank = max(ex.notify_rank, counted)
        # The place the message talks about: highest danger, the current location first.
        key = (counted if counted else d.rank, 1 if m.place_kind == "current" else 0)
        if key > best_key:
            best_key = key
            ex.best_area, ex.best_place_kind, ex.best_place_id = m.area_code, m.place_kind, m.place_id
            ex.intensity, ex.intensity_unreceived = d.intensity, d.intensity_unreceived
            ex.warning_names, ex.level, ex.facts = d.warning_names, d.level, d
    ex.kinds = kind_strings(ex.kind_levels)
    return ex


def kind_strings(levels: dict[str, int]) -> tuple[str, ...]:
    return tuple(f"{k}:{lv}" for k, lv in sorted(levels.items()))


def kind_levels(kinds) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in kinds or ():
        k, _, lv = str(item).rpartition(":")
        if k and lv.isdigit():
            out[k] = max(out.get(k, 0), int(lv))
    return out


@dataclass(frozen=True, slots=True)
class Decision:
    # new | raised | lowered | cleared | cancelled: push that message;
    # held: record, do not push; silent: update the row only; skip: touch nothing.
    action: str
    status: str | None  # the row's status afterwards (None for skip)
    rank: int  # the rank to store
    push: bool
    held: bool = False
    told_rank: int | None = None  # for lowered / cleared / cancelled messages


SKIP = Decision("skip", None, 0, False)


def decide(
    prior: Prior | None,
    ex: Exposure,
    prefs: Preferences,
    alert_id: int,
    now: datetime,
    *,
    lifecycle: str = "warning",
    can_lower: bool = True,
    silent: bool = False,
) -> Decision:
    """One resident's transition. ``lifecycle`` and ``can_lower`` come from the facts: an
    EEW, an observation or a flash never lowers or lifts; only an authority product of a
    warning lowers or lifts it. ``silent``: record, never push (a stale EEW)."""
    if prior is not None and prior.last_alert_id >= alert_id:
        return SKIP
    quiet = prefs.quiet_now(now) or silent
    hold = quiet and not ex.life_critical or silent
    if prior is None or prior.status in ("cleared", "cancelled"):
        if ex.notify_rank <= 0:
            return SKIP if prior is None else Decision("silent", prior.status, prior.rank, False)
        if hold:
            return Decision("held", "held", ex.notify_rank, False, held=True)
        return Decision("new", "told", ex.notify_rank, True)
    if prior.status == "held":
        if ex.raw_rank == 0 and can_lower:
            return Decision("silent", "cleared", 0, False)
        if ex.notify_rank > prior.rank:
            if hold:
                return Decision("held", "held", ex.notify_rank, False, held=True)
            return Decision("new", "told", ex.notify_rank, True)
        return Decision("silent", "held", prior.rank, False)
    # told / lowered
    if lifecycle == FLASH and ex.notify_rank > 0:
        # Each flash is news of its own (a J-ALERT follow-up, a second 噴火速報 the same day).
        if hold:
            return Decision("held", prior.status, prior.rank, False, held=True)
        return Decision("new", "told", ex.notify_rank, True)
    # A kind added to a standing warning, or raised (暴風警報 → 暴風特別警報 beside a 大雨特別警報),
    # at or above what they were told, is news even when the top level stays the same.
    was = prior.kind_levels
    added = {k for k, lv in ex.kind_levels.items() if lv > was.get(k, 0) and lv >= prior.rank}
    if ex.notify_rank > prior.rank or (added and ex.notify_rank > 0):
        if hold:
            # Keep the told rank, so the rise is pushed by a later update outside quiet hours.
            return Decision("held", prior.status, prior.rank, False, held=True)
        return Decision("raised", "told", max(ex.notify_rank, prior.rank), True)
    if lifecycle in (RAISE_ONLY, OBSERVATION, FLASH) or not can_lower:
        # An EEW never announces a lowering; shaking that happened does not un-happen; a
        # 報知 or an observation product never lowers or lifts a warning.
        return Decision("silent", prior.status, prior.rank, False)
    # The end of something life-critical is always pushed: they were woken for it.
    hold_end = quiet and not prior.critical
    if ex.raw_rank == 0:
        return Decision("cleared", "cleared", 0, not hold_end, held=hold_end, told_rank=prior.rank)
    if ex.raw_rank < prior.rank:
        return Decision("lowered", "lowered", ex.raw_rank, not hold_end, held=hold_end, told_rank=prior.rank)
    return Decision("silent", prior.status, prior.rank, False)


def decide_end(prior: Prior, action: str, prefs: Preferences, alert_id: int, now: datetime) -> Decision:
    """A cancellation, or the end of the whole event, for a resident the alert did not match."""
    if prior.last_alert_id >= alert_id:
        return SKIP
    status = "cancelled" if action == "cancelled" else "cleared"
    if prior.status not in TOLD:
        return Decision("silent", status, 0, False)
    hold_end = prefs.quiet_now(now) and not prior.critical
    return Decision(action, status, 0, not hold_end, held=hold_end, told_rank=prior.rank)
