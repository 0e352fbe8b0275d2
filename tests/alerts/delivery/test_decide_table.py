"""``decide``, table-driven: what one resident is told, one behaviour per row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerts.delivery.preferences import Preferences
from alerts.delivery.transitions import Exposure, Prior, decide

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)  # 12:00 JST
NIGHT = datetime(2026, 11, 21, 16, 0, tzinfo=UTC)  # 01:00 JST
PLAIN = Preferences()
QUIET = Preferences(quiet_hours={"start": "22:00", "end": "07:00"})


def ex(rank, *, lc=False, notify=None, kinds=None):
    e = Exposure(raw_rank=rank, notify_rank=rank if notify is None else notify, life_critical=lc)
    e.kind_levels = dict(kinds or {})
    e.kinds = tuple(sorted(e.kind_levels))
    return e


def told(rank, *, critical=False, kinds=(), status="told"):
    return Prior(1, status, rank, rank, 1, critical, tuple(f"{k}:{lv}" for k, lv in dict(kinds).items()))


@pytest.mark.parametrize(
    ("prior", "exposure", "prefs", "now", "kw", "action"),
    [
        # new dangers
        (None, ex(3), PLAIN, NOW, {}, "new"),
        (None, ex(0), PLAIN, NOW, {}, "skip"),
        (None, ex(3), QUIET, NIGHT, {}, "held"),
        (None, ex(5, lc=True), QUIET, NIGHT, {}, "new"),  # life-critical is never held
        # warning lifecycle: raise, lower, lift (authority only)
        (told(3), ex(4), PLAIN, NOW, {}, "raised"),
        (told(4), ex(3), PLAIN, NOW, {}, "lowered"),
        (told(4), ex(0), PLAIN, NOW, {}, "cleared"),
        (told(4), ex(3), PLAIN, NOW, {"can_lower": False}, "silent"),  # a 報知 / observation never lowers
        (told(4), ex(0), PLAIN, NOW, {"can_lower": False}, "silent"),  # …nor lifts
        (told(3), ex(3), PLAIN, NOW, {}, "silent"),
        # a kind added to a standing warning at the same level is news; a weaker one is not
        (told(3, kinds={"大雨": 3}), ex(3, kinds={"大雨": 3, "洪水": 3}), PLAIN, NOW, {}, "raised"),
        (told(5, kinds={"大雨": 5}), ex(5, kinds={"大雨": 5, "洪水": 3}), PLAIN, NOW, {}, "silent"),
        # a second 特別警報 beside a standing one
        (told(5, kinds={"大雨": 5, "暴風": 3}), ex(5, kinds={"大雨": 5, "暴風": 5}), PLAIN, NOW, {}, "raised"),
        (told(3, kinds={"大雨": 3, "洪水": 3}), ex(3, kinds={"大雨": 3}), PLAIN, NOW, {}, "silent"),
        # EEW and observations never lower, whatever they say
        (told(2), ex(1), PLAIN, NOW, {"lifecycle": "raise_only"}, "silent"),
        (told(1), ex(2, lc=True), PLAIN, NOW, {"lifecycle": "raise_only"}, "raised"),
        (told(6), ex(3), PLAIN, NOW, {"lifecycle": "observation"}, "silent"),
        (told(4), ex(6), PLAIN, NOW, {"lifecycle": "observation"}, "raised"),
        # quiet hours: a rise is held, the end of something life-critical is not
        (told(3), ex(4), QUIET, NIGHT, {}, "held"),
        (told(5, critical=True), ex(0), QUIET, NIGHT, {}, "cleared"),
        # a stale EEW is recorded, never pushed
        (None, ex(2), PLAIN, NOW, {"lifecycle": "raise_only", "silent": True}, "held"),
        # the same alert applied twice changes nothing
        (Prior(1, "told", 3, 3, 7), ex(4), PLAIN, NOW, {}, "skip"),
    ],
)
def test_decide(prior, exposure, prefs, now, kw, action):
    alert_id = 7 if prior is not None and prior.last_alert_id == 7 else 2
    d = decide(prior, exposure, prefs, alert_id, now, **kw)
    assert d.action == action
    if action in ("new", "raised"):
        assert d.push
    if action in ("held", "silent", "skip"):
        assert not d.push


def test_each_flash_is_news_of_its_own():
    d = decide(told(5), ex(5, lc=True), PLAIN, 2, NOW, lifecycle="flash")
    assert d.action == "new" and d.push
    assert decide(told(5), ex(5, lc=True), QUIET, 2, NIGHT, lifecycle="flash").action == "new"  # life-critical
