"""Who would be told what: a draft alert through the fan-out's own rules, written nowhere.

The draft is stored through the real ingest inside a savepoint (so its event's facts are
combined with whatever is already in force, exactly as on the live path), matched by the
real targeting, decided by ``transitions.decide`` against each resident's current
``deliveries`` row and preferences, and composed per language by the fan-out's own
``AlertContext``; then the savepoint is rolled back. Nothing is pushed, nothing is kept.
"""

from __future__ import annotations

from collections import Counter
from contextlib import aclosing
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from alerts.delivery import repository as repo
from alerts.events import outbox_repository as outbox_repo
from alerts.delivery.transitions import Prior
from my_evacuation.residents import repository as residents_repo

# Outcome names as ``bousai simulate`` prints them.
ACTIONS = {"new": "new", "raised": "raise", "lowered": "lower", "cleared": "clear", "cancelled": "cancel", "held": "hold"}
SAMPLES_PER_KEY = 1



async def preview(session: AsyncSession, normalized: dict[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """``{"residents", "actions": {action: n}, "life_critical", "level", "messages": [...]}`` for
    a draft alert; runs in a savepoint of ``session`` that is always rolled back."""
    from alerts.delivery.service import AlertContext, by_resident_of, decide_residents
    from alerts.events.service import ingest
    from alerts.targeting.service import iter_matches

    now = now or datetime.now(UTC)
    actions: Counter[str] = Counter()
    samples: dict[tuple[str, str], dict[str, Any]] = {}
    residents = 0
    life_critical = False
    level = 0
    savepoint = await session.begin_nested()
    try:
        stored = await ingest(session, normalized)
        row = await outbox_repo.alert_to_fan_out(session, stored.alert_id)
        ctx = AlertContext(row, now)
        conn = await session.connection()
        async with aclosing(iter_matches(conn, stored.alert_id, chunk_size=2000)) as chunks:
            async for chunk in chunks:
                by_resident = by_resident_of(chunk)
                rids = list(by_resident)
                priors = {r.resident_id: Prior.of(r) for r in await repo.priors(session, ctx.event_id, rids, lock=False)}
                languages: dict[int, set[str]] = {}
                for r in await residents_repo.device_languages(session, rids):
                    languages.setdefault(r.resident_id, set()).add(r.language or "ja")
                decisions, _ = await decide_residents(session, ctx, by_resident, priors, now)
                for rid, d, ex in decisions:
                    if d.action not in ACTIONS:
                        continue
                    residents += 1
                    action = "hold" if d.held else ACTIONS[d.action]
                    actions[action] += 1
                    life_critical = life_critical or ex.life_critical
                    level = max(level, ex.level)
                    for lang in sorted(languages.get(rid, {"ja"})):
                        key = (action, lang)
                        if key not in samples:
                            msg = ctx.would_say(lang, d, ex)
                            samples[key] = {"action": action, "language": lang, "title": msg.title, "body": msg.body}
    finally:
        await savepoint.rollback()
    return {
        "residents": residents,
        "actions": dict(actions),
        "life_critical": life_critical,
        "level": level,
        "messages": sorted(samples.values(), key=lambda m: (m["action"], m["language"])),
    }
