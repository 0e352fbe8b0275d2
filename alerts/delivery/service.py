"""Fan-out: one alert → the residents it reaches → deliveries rows and push messages.

``fan_out`` streams the targeting matches chunk by chunk (never all recipients at
once). Per chunk, in one transaction: lock the residents' existing ``deliveries`` rows,
decide each resident's transition (``transitions.decide``), compose a message per device
in the device's language, upsert the rows and insert the ``push_messages``; then commit
and publish the push jobs. A chunk is the unit of durability: a worker killed mid
fan-out leaves whole chunks behind it, and the stream entry (not acked) is handled again
by another worker, which finds the committed chunks already applied
(``last_alert_id``) and carries on with the rest.

A cancellation has no areas to match: it walks the event's deliveries instead. When an
alert ends the whole event (state ``cleared`` / ``cancelled``), residents it did not
match but who were told are swept the same way, so nobody is left believing a danger is
still in force.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import redis.asyncio as aioredis
import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.facts.lanes import lane_of_alert
from alerts.delivery import repository as repo
from alerts.events import outbox_repository as outbox_repo
from my_evacuation.places import repository as places_repo
from my_evacuation.plans import repository as plans_repo
from my_evacuation.push import repository as push_repo
from my_evacuation.residents import repository as residents_repo
from alerts.delivery.compose import Composed, compose
from alerts.delivery.preferences import Preferences, load_preferences
from alerts.delivery.rank import AlertRanker, most_specific, needs_city
from alerts.delivery.transitions import Decision, Exposure, Prior, decide, decide_end, expose, kind_strings
from my_evacuation import guidance
from server import lanes
from server.errors import AppError
from alerts.facts import GroupFacts
from my_evacuation.push.jobs import LANE_YIELD, publish_push_jobs

log = structlog.get_logger()

# Residents per transaction: large enough that 100k residents are ~50 round trips.
CHUNK_SIZE = 2000
# The first transaction is smaller, so the first pushes leave within a second of the alert.
FIRST_BATCH = 200
SAFETY_STREAM = "alerts:safety"

TRANSITIONS = Counter("bousai_delivery_transitions_total", "Per-resident delivery decisions", ["action"])


@dataclass
class FanOutStats:
    alert_id: int
    matched: int = 0
    pushes: int = 0
    actions: dict[str, int] = field(default_factory=dict)
    expired: bool = False  # over before its fan-out began: nobody was told

    def count(self, action: str) -> None:
        self.actions[action] = self.actions.get(action, 0) + 1


class AlertContext:
    """Everything about the alert a chunk needs, built once per fan-out."""

    def __init__(self, row: Any, now: datetime | None = None):
        self.alert_id: int = row["id"]
        self.event_id: int = row["event_id"]
        self.payload: dict[str, Any] = row["payload"] if isinstance(row["payload"], dict) else orjson.loads(row["payload"])
        self.msg_type: str = row["msg_type"]
        self.event_state: str = row["event_state"]
        raw_facts = row.get("event_facts") if hasattr(row, "get") else None
        if isinstance(raw_facts, (str, bytes)):
            raw_facts = orjson.loads(raw_facts)
        # The danger now (the event's facts over every product's newest document), not this
        # document alone: see alerts.delivery.rank.
        facts = GroupFacts.from_json(raw_facts) if raw_facts else None
        self.ranker = AlertRanker(self.payload, facts, now=now, issued_at=row["issued_at"])
        self.category: str = self.ranker.category
        # A drill (訓練) goes only to residents who opted into drills, labelled as such.
        self.is_drill: bool = bool(row["is_drill"])
        self._composed: dict[tuple, Composed] = {}
        # Called with (context, resident id, decision, exposure, pushes) for every resident-facing
        # outcome once its chunk is written (``bousai simulate`` reads the real path this way).
        self.observer: Any = None
        # Priority lane (server.lanes) from the event's facts: where its pushes queue, and
        # whether its chunks yield to critical work.
        self.lane: str = lane_of_alert(
            raw_facts, msg_type=self.msg_type, category=row["category"], is_drill=self.is_drill
        )
        # When the service received the document (epoch s), carried by push jobs for the
        # receipt → accepted figures; set by fan_out.
        self.received: float | None = None

    def area_name(self, code: str | None) -> str:
        area = self.ranker.area(code)
        if area is None:
            areas = list(self.ranker.areas.values())
            area = areas[0] if len(areas) == 1 else None
        return str((area or {}).get("name") or "")

    def would_say(self, language: str, d: Decision, ex: Exposure | None) -> Composed:
        """What a decision says, also when it is not pushed (a hold says what it would have)."""
        return self.message(language, Decision("new", d.status, d.rank, False) if d.action == "held" else d, ex)

    def message(self, language: str, d: Decision, ex: Exposure | None) -> Composed:
        """Composed message, cached: most residents of a fan-out share a handful of variants."""
        key = (
            language,
            d.action,
            d.rank,
            d.told_rank,
            ex.best_area if ex else None,
            ex.best_place_kind if ex else None,
            ex.intensity if ex else None,
            ex.intensity_unreceived if ex else False,
            ex.warning_names if ex else (),
        )
        msg = self._composed.get(key)
        if msg is None:
            msg = compose(
                language=language,
                transition=d.action,
                alert=self.payload,
                alert_id=self.alert_id,
                event_id=self.event_id,
                rank=d.rank if d.action != "cleared" else (d.told_rank or 0),
                told_rank=d.told_rank,
                area_name=self.area_name(ex.best_area) if ex else "",
                place_kind=ex.best_place_kind if ex else None,
                intensity=ex.intensity if ex else None,
                warning_names=ex.warning_names if ex else (),
                facts=self.ranker.facts,
                intensity_unreceived=bool(ex and ex.intensity_unreceived),
            )
            self._composed[key] = msg
        return msg


def _now() -> datetime:
    return datetime.now(UTC)


async def _guidance_for(session: AsyncSession, ctx: AlertContext, resident_id: int, ex: Exposure, language: str) -> str | None:
    if ex is None:
        return None
    try:
        return await guidance.plan_guidance(
            session, resident_id, ex.best_place_id, ex.best_place_kind or "other", ctx.payload, language, ex.facts
        )
    except Exception:  # guidance is a bonus: never lose the alert for it
        log.exception("alerts.delivery.guidance_failed", resident_id=resident_id)
        return None


async def _write_chunk(
    session: AsyncSession,
    ctx: AlertContext,
    decisions: list[tuple[int, Decision, Exposure | None]],
    stats: FanOutStats,
    kinds_after: dict[int, tuple[str, ...]] | None = None,
) -> list[int]:
    """Upsert the chunk's deliveries and insert its pushes; returns push message ids."""
    kinds_after = kinds_after or {}
    rows = []
    for rid, d, ex in decisions:
        stats.count(d.action)
        TRANSITIONS.labels(d.action).inc()
        if d.action == "skip":
            continue
        rows.append(
            {
                "resident_id": rid,
                "status": d.status,
                "rank": d.rank,
                "place_ids": ex.place_ids if ex else [],
                "current_location": bool(ex and ex.current_devices),
                "critical": bool(ex and ex.life_critical),
                "held": d.held,
                "push": d.push,
                "kinds": kinds_after.get(rid, ex.kinds if ex else ()),
            }
        )
    ids = await repo.upsert_deliveries(
        session, event_id=ctx.event_id, alert_id=ctx.alert_id, category=ctx.category, rows=rows
    )
    pushing = [(rid, d, ex) for rid, d, ex in decisions if d.push and rid in ids]
    if not pushing:
        return []
    devices = await residents_repo.push_devices_of(session, [rid for rid, _, _ in pushing])
    # An EEW leaves seconds before the shaking: the plan (where to evacuate to) is not what
    # one does then, so its critical pushes skip the plan lookup altogether.
    planners = (
        await plans_repo.with_plans_among(session, [rid for rid, _, _ in pushing])
        if not (ctx.lane == lanes.CRITICAL and ctx.category == "eew")
        else set()
    )
    lane_data: dict[int, str] = {}
    pushes: list[dict[str, Any]] = []
    for rid, d, ex in pushing:
        for device_id, language in devices.get(rid, ()):
            msg = ctx.message(language, d, ex)
            body = msg.body
            if rid in planners and d.action in ("new", "raised"):
                extra = await _guidance_for(session, ctx, rid, ex, language)
                if extra:
                    body = compose(
                        language=language, transition=d.action, alert=ctx.payload, alert_id=ctx.alert_id,
                        event_id=ctx.event_id, rank=d.rank, area_name=ctx.area_name(ex.best_area),
                        place_kind=ex.best_place_kind, intensity=ex.intensity, warning_names=ex.warning_names,
                        guidance=extra, facts=ctx.ranker.facts, intensity_unreceived=ex.intensity_unreceived,
                    ).body
            # Critical delivery only where the device itself is (its current location
            # matched) and the alert is life-critical; registered places get normal priority.
            critical = bool(ex and ex.life_critical and device_id in ex.current_devices and d.action in ("new", "raised"))
            pushes.append(
                {
                    "message_id": f"a{ctx.alert_id}-r{ids[rid]}-d{device_id}",
                    "resident_id": rid,
                    "device_id": device_id,
                    "delivery_id": ids[rid],
                    "title": msg.title,
                    "body": body,
                    # The lane rides with the row, for the push catch-up to re-queue it in its lane.
                    "data": lane_data.get(id(msg)) or lane_data.setdefault(
                        id(msg), orjson.dumps({**msg.data, "lane": ctx.lane}).decode()
                    ),
                    "critical": critical,
                }
            )
    push_ids = await push_repo.insert_alert_pushes(
        session, ctx.alert_id,
        message_ids=[p["message_id"] for p in pushes], resident_ids=[p["resident_id"] for p in pushes],
        device_ids=[p["device_id"] for p in pushes], delivery_ids=[p["delivery_id"] for p in pushes],
        titles=[p["title"] for p in pushes], bodies=[p["body"] for p in pushes],
        datas=[p["data"] for p in pushes], criticals=[p["critical"] for p in pushes],
    )
    stats.pushes += len(push_ids)
    if ctx.observer is not None:
        by_rid: dict[int, list[dict]] = {}
        for p in pushes:
            by_rid.setdefault(p["resident_id"], []).append(p)
        for rid, d, ex in decisions:
            if d.action not in ("skip", "silent"):
                ctx.observer(ctx, rid, d, ex, by_rid.get(rid, []))
    return push_ids


def by_resident_of(chunk: Sequence[Any]) -> dict[int, list[Any]]:
    by_resident: dict[int, list[Any]] = {}
    for m in chunk:
        by_resident.setdefault(m.resident_id, []).append(m)
    return by_resident


async def decide_residents(
    session: AsyncSession, ctx: AlertContext, by_resident: dict[int, list[Any]], priors: dict[int, Prior], now: datetime,
) -> tuple[list[tuple[int, Decision, Exposure]], dict[int, tuple[str, ...]]]:
    """Each matched resident's decision (their preferences, their places' facts, what they were
    told), and the warning kinds to remember where they are not simply today's: the fan-out and
    the staff preview decide through this one function."""
    prefs_raw = await residents_repo.preferences_of(session, list(by_resident))
    ranker = ctx.ranker
    if needs_city(ranker.facts):
        area_places = [m.place_id for ms in by_resident.values() for m in ms if m.area_code and len(m.area_code) == 3]
        city_of = await places_repo.city_codes(session, area_places)
        by_resident = {rid: most_specific(ranker.facts, ms, city_of) for rid, ms in by_resident.items()}
    decisions: list[tuple[int, Decision, Exposure]] = []
    kinds_after: dict[int, tuple[str, ...]] = {}
    for rid, matches in by_resident.items():
        prefs = load_preferences(prefs_raw.get(rid))
        if ctx.is_drill and not prefs.drills:
            continue
        ex = expose(ranker, prefs, matches)
        prior = priors.get(rid)
        d = decide(prior, ex, prefs, ctx.alert_id, now, lifecycle=ranker.lifecycle, can_lower=ranker.can_lower,
                   silent=ranker.silent_when_stale)
        if prior is not None and (d.action == "held" and d.status in ("told", "lowered") or d.action == "silent"
                                  and not ranker.can_lower):
            # A held rise, or a product that may not lower: what they were told still stands.
            merged = prior.kind_levels
            for k, lv in ex.kind_levels.items():
                merged[k] = max(merged.get(k, 0), lv)
            kinds_after[rid] = kind_strings(merged) if d.action == "silent" else prior.kinds
        decisions.append((rid, d, ex))
    return decisions, kinds_after


async def _apply_matches(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    ctx: AlertContext,
    chunk: Sequence[Any],
    stats: FanOutStats,
    now: datetime,
) -> None:
    by_resident = by_resident_of(chunk)
    stats.matched += len(by_resident)
    async with sessionmaker() as session, session.begin():
        priors = {r.resident_id: Prior.of(r) for r in await repo.priors(session, ctx.event_id, list(by_resident))}
        decisions, kinds_after = await decide_residents(session, ctx, by_resident, priors, now)
        push_ids = await _write_chunk(session, ctx, decisions, stats, kinds_after)
    await _publish(redis, ctx, push_ids)


async def _publish(redis: aioredis.Redis, ctx: AlertContext, push_ids: list[int]) -> None:
    await publish_push_jobs(
        redis, push_ids, lane=ctx.lane, meta={"alert_id": ctx.alert_id, "received": ctx.received}
    )


async def _yield_to_critical(redis: aioredis.Redis, ctx: AlertContext) -> None:
    """Before each chunk of a non-critical fan-out: let critical work anywhere go first.
    A simulation (``bousai simulate``: an observer, streams of its own) competes with
    nothing and never waits."""
    if ctx.lane == lanes.CRITICAL or ctx.observer is not None:
        return
    waited = await lanes.gate_for(redis).wait_clear()
    if waited > 0.01:
        LANE_YIELD.labels(ctx.lane, "fan_out").inc(waited)
        log.info("alerts.delivery.yielded_to_critical", alert_id=ctx.alert_id, lane=ctx.lane, seconds=round(waited, 3))


async def _end_for_unmatched(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    ctx: AlertContext,
    action: str,
    stats: FanOutStats,
    now: datetime,
) -> None:
    """Cancel / clear every row of the event this alert did not already handle."""
    after = 0
    while True:
        await _yield_to_critical(redis, ctx)
        async with sessionmaker() as session, session.begin():
            page = await repo.unfinished_page(session, ctx.event_id, ctx.alert_id, after, CHUNK_SIZE)
            if not page:
                return
            after = page[-1].id
            prefs_raw = await residents_repo.preferences_of(session, [r.resident_id for r in page])
            decisions = []
            for r in page:
                d = decide_end(Prior.of(r), action, load_preferences(prefs_raw.get(r.resident_id)), ctx.alert_id, now)
                decisions.append((r.resident_id, d, None))
            push_ids = await _write_chunk(session, ctx, decisions, stats)
        await _publish(redis, ctx, push_ids)


async def fan_out(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    alert_id: int,
    *,
    chunk_size: int = CHUNK_SIZE,
    now: datetime | None = None,
    observer: Any = None,
) -> FanOutStats:
    """Deliver one alert. Idempotent: running it again for the same alert pushes nothing new."""
    from alerts.targeting.service import iter_matches, split_residents

    now = now or _now()
    stats = FanOutStats(alert_id)
    async with sessionmaker() as session:
        row = await outbox_repo.alert_to_fan_out(session, alert_id)
    if row is None:
        log.warning("alerts.delivery.alert_missing", alert_id=alert_id)
        return stats
    ctx = AlertContext(row, now)
    ctx.observer = observer
    async with sessionmaker() as session:
        ctx.received = await outbox_repo.received_epoch(session, alert_id)
    facts = ctx.ranker.facts
    if row["expires_at"] is not None and row["expires_at"] <= now and ctx.event_state not in ("cleared", "cancelled"):
        # Reached the worker only after it ended (a backlog after an outage): telling anyone now
        # would announce something no longer in force. The pull lists it as expired.
        log.warning("alerts.delivery.expired_before_fan_out", alert_id=alert_id, expires_at=row["expires_at"].isoformat())
        stats.expired = True
    elif ctx.msg_type == "cancel":
        # A 取消 withdraws its own product: residents hear "withdrawn" only when nothing of
        # the danger is left (another product of it may still stand: a 津波情報 取消 leaves
        # the 津波警報 in force).
        if ctx.event_state == "cancelled" or not facts.in_force:
            await _end_for_unmatched(sessionmaker, redis, ctx, "cancelled", stats, now)
    else:
        # Targeting reads on its own connection (a server-side cursor in a long read
        # transaction); each chunk commits on another.
        engine = sessionmaker.kw["bind"]
        async with engine.connect() as conn:
            async with aclosing(iter_matches(conn, alert_id, chunk_size=chunk_size)) as chunks:
                async for chunk in chunks:
                    await _yield_to_critical(redis, ctx)
                    if stats.matched == 0 and len(chunk) > FIRST_BATCH:
                        first, chunk = split_residents(chunk, FIRST_BATCH)
                        await _apply_matches(sessionmaker, redis, ctx, first, stats, now)
                    if chunk:
                        await _apply_matches(sessionmaker, redis, ctx, chunk, stats, now)
        # The whole danger ended: tell everyone who was told, matched by this document or
        # not. Only a product that can lift it ends it (an observation or a 報知 never does).
        if ctx.event_state == "cancelled":
            await _end_for_unmatched(sessionmaker, redis, ctx, "cancelled", stats, now)
        elif ctx.ranker.can_lower and (ctx.event_state == "cleared" or ctx.payload.get("source") == "cap"):
            # A CAP message states its whole area: whoever it no longer covers is out of it
            # (an order narrowed to fewer districts is lifted for the rest).
            await _end_for_unmatched(sessionmaker, redis, ctx, "cleared", stats, now)
    async with sessionmaker() as session, session.begin():
        await outbox_repo.mark_fanned_out(session, alert_id)
    if not ctx.is_drill and (stats.actions.get("new") or stats.actions.get("raised")):
        # "Are you safe?" checks run apart (alerts.delivery.tasks): they must not delay pushes.
        await redis.xadd(SAFETY_STREAM, {"alert_id": alert_id}, maxlen=100_000, approximate=True)
    log.info("alerts.delivery.fanned_out", alert_id=alert_id, matched=stats.matched, pushes=stats.pushes, **stats.actions)
    return stats


def parse_preferences(raw: dict[str, Any]) -> Preferences:
    return Preferences.model_validate(raw)


class UnknownPlaces(AppError):
    status_code = 400
    code = "unknown_place"


async def resident_preferences(session: AsyncSession, resident_id: int) -> Preferences:
    """The resident's alert preferences (the defaults where none are stored)."""
    return load_preferences((await residents_repo.preferences_of(session, [resident_id])).get(resident_id))


async def set_resident_preferences(session: AsyncSession, resident_id: int, prefs: Preferences) -> None:
    """Store the resident's preferences (only what differs from the defaults). Seismic
    thresholds may only name the resident's own places (:class:`UnknownPlaces` otherwise)."""
    if prefs.seismic_thresholds:
        wanted = sorted({int(p) for p in prefs.seismic_thresholds})
        mine = await places_repo.own_among(session, resident_id, wanted)
        unknown = [p for p in wanted if p not in mine]
        if unknown:
            raise UnknownPlaces(f"not your places: {unknown}", detail={"place_ids": unknown})
    await residents_repo.set_preferences(session, resident_id, prefs.model_dump_json(exclude_defaults=True))
