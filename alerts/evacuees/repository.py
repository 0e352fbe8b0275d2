"""Evacuees' SQL (shelter_checkins, outside_evacuations). No commits here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.delivery import repository as deliveries_reads
from alerts.events import reads_repository as events_reads
from geo.shelters import repository as shelters_repo
from my_evacuation.family import repository as family_repo
from my_evacuation.places import repository as places_repo
from my_evacuation.plans import repository as plans_repo
from my_evacuation.safety import repository as safety_repo

_CHECKIN_COLS = """c.id, c.submitted_by, c.client_id, c.resident_id, c.staff_id, c.shelter_id, c.municipality_code,
    c.headcount, c.members, c.needs, c.note, c.state, c.checked_in_at, c.received_at, c.checked_out_at,
    c.checkout_client_id"""


async def lock_resident(session: AsyncSession, resident_id: int) -> None:
    """One resident's check-ins and check-outs are decided one at a time (a queue flushed at
    once when the network comes back sends them together, in any order)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended('bousai:checkin:' || :r, 0))"),
                          {"r": str(resident_id)})


async def by_client_id(session: AsyncSession, submitted_by: str, client_id: str, *, for_update: bool = False) -> dict | None:
    sql = f"SELECT {_CHECKIN_COLS} FROM shelter_checkins c WHERE c.submitted_by = :s AND c.client_id = :c"
    row = (await session.execute(text(sql + (" FOR UPDATE" if for_update else "")), {"s": submitted_by, "c": client_id})).first()
    return dict(row._mapping) if row else None


async def by_id(session: AsyncSession, checkin_id: int, *, for_update: bool = False) -> dict | None:
    sql = f"SELECT {_CHECKIN_COLS} FROM shelter_checkins c WHERE c.id = :i"
    row = (await session.execute(text(sql + (" FOR UPDATE" if for_update else "")), {"i": checkin_id})).first()
    return dict(row._mapping) if row else None


async def current_of_resident(session: AsyncSession, resident_id: int) -> dict | None:
    row = (await session.execute(text(
        f"SELECT {_CHECKIN_COLS} FROM shelter_checkins c WHERE c.resident_id = :r AND c.state = 'in' "
        "ORDER BY c.checked_in_at DESC LIMIT 1 FOR UPDATE"), {"r": resident_id})).first()
    return dict(row._mapping) if row else None


async def current_of_resident_other_than(session: AsyncSession, resident_id: int, checkin_id: int) -> dict | None:
    row = (await session.execute(text(
        f"SELECT {_CHECKIN_COLS} FROM shelter_checkins c WHERE c.resident_id = :r AND c.state = 'in' AND c.id <> :i "
        "ORDER BY c.checked_in_at DESC LIMIT 1 FOR UPDATE"), {"r": resident_id, "i": checkin_id})).first()
    return dict(row._mapping) if row else None


async def later_exists(session: AsyncSession, resident_id: int, at: datetime) -> bool:
    return (await session.execute(text(
        "SELECT EXISTS (SELECT 1 FROM shelter_checkins WHERE resident_id = :r AND checked_in_at > :at)"),
        {"r": resident_id, "at": at})).scalar_one()


async def insert_checkin(session: AsyncSession, values: dict[str, Any]) -> dict | None:
    """None when this (submitter, client id) is already there (a concurrent repeat)."""
    params = dict(values, members=orjson.dumps(values.get("members") or []).decode())
    row = (await session.execute(text(
        """INSERT INTO shelter_checkins (submitted_by, client_id, resident_id, staff_id, shelter_id, municipality_code,
                                         headcount, members, needs, note, state, checked_in_at)
           VALUES (:submitted_by, :client_id, :resident_id, :staff_id, :shelter_id, :municipality_code,
                   :headcount, CAST(:members AS jsonb), CAST(:needs AS text[]), :note, :state, :checked_in_at)
           ON CONFLICT (submitted_by, client_id) DO NOTHING
           RETURNING id"""), params)).first()
    if row is None:
        return None
    return await by_id(session, row[0])


async def set_state(session: AsyncSession, checkin_id: int, state: str, *, checked_out_at: datetime | None = None,
                    checkout_client_id: str | None = None) -> None:
    await session.execute(text(
        """UPDATE shelter_checkins SET state = :st,
                  checked_out_at = COALESCE(checked_out_at, CAST(:at AS timestamptz)),
                  checkout_client_id = COALESCE(checkout_client_id, CAST(:cc AS text))
           WHERE id = :i"""), {"i": checkin_id, "st": state, "at": checked_out_at, "cc": checkout_client_id})


async def plan_members(session: AsyncSession, resident_id: int) -> dict[str, dict]:
    """The members of every current plan of the resident, by member id."""
    out: dict[str, dict] = {}
    for m in await plans_repo.current_plan_members(session, resident_id):
        if isinstance(m, dict) and m.get("id") and m["id"] not in out:
            out[m["id"]] = m
    return out


async def home_municipality(session: AsyncSession, resident_id: int) -> str | None:
    return await places_repo.home_municipality(session, resident_id)


# --- outside shelters ------------------------------------------------------------------

async def upsert_outside(session: AsyncSession, values: dict[str, Any]) -> dict:
    # The events it is made during: in force (read as the pull and shelter notices read it,
    # state and in_force_until), told to the resident (or held by quiet hours), not a drill.
    during = await events_reads.in_force_real_among(session, await deliveries_reads.told_event_ids(session, values["resident_id"]))
    params = dict(values, members=orjson.dumps(values.get("members") or []).decode(), during_events=during)
    row = (await session.execute(text(
        """INSERT INTO outside_evacuations (resident_id, whereabouts, headcount, members, needs, note, share_location,
                                            lat, lon, municipality_code, during_events, updated_at, expires_at)
           VALUES (:resident_id, :whereabouts, :headcount, CAST(:members AS jsonb), CAST(:needs AS text[]), :note,
                   :share_location, :lat, :lon, :municipality_code,
                   CAST(:during_events AS bigint[]), now(), :expires_at)
           ON CONFLICT (resident_id) DO UPDATE SET whereabouts = EXCLUDED.whereabouts, headcount = EXCLUDED.headcount,
             during_events = EXCLUDED.during_events,
             members = EXCLUDED.members, needs = EXCLUDED.needs, note = EXCLUDED.note,
             share_location = EXCLUDED.share_location, lat = EXCLUDED.lat, lon = EXCLUDED.lon,
             municipality_code = EXCLUDED.municipality_code, updated_at = now(), expires_at = EXCLUDED.expires_at
           RETURNING *"""), params)).one()
    return dict(row._mapping)


async def get_outside(session: AsyncSession, resident_id: int) -> dict | None:
    row = (await session.execute(text(
        "SELECT * FROM outside_evacuations WHERE resident_id = :r AND expires_at > now()"), {"r": resident_id})).first()
    return dict(row._mapping) if row else None


async def delete_outside(session: AsyncSession, resident_id: int) -> bool:
    return (await session.execute(text("DELETE FROM outside_evacuations WHERE resident_id = :r"),
                                  {"r": resident_id})).rowcount > 0


async def delete_ended_checkins(session: AsyncSession, older_than: datetime) -> int:
    return (await session.execute(text(
        "DELETE FROM shelter_checkins WHERE state <> 'in' AND COALESCE(checked_out_at, received_at) < :t"),
        {"t": older_than})).rowcount


async def delete_outside_whose_events_ended(session: AsyncSession) -> int:
    """Entries made while events were in force, none of which is any more."""
    in_force = await events_reads.in_force_event_ids(session)
    return (await session.execute(text(
        """DELETE FROM outside_evacuations o
            WHERE cardinality(o.during_events) > 0
              AND NOT (o.during_events && CAST(:in_force AS bigint[]))"""), {"in_force": in_force})).rowcount


async def delete_expired_outside(session: AsyncSession) -> int:
    return (await session.execute(text("DELETE FROM outside_evacuations WHERE expires_at <= now()"))).rowcount


# --- roster ----------------------------------------------------------------------------

async def roster_checkins(session: AsyncSession, municipality_code: str | None, shelter_id: str | None) -> AsyncIterator[dict]:
    params = {"m": municipality_code, "sid": shelter_id}
    where = """c.state = 'in'
              AND (CAST(:m AS text) IS NULL OR c.municipality_code = :m)
              AND (CAST(:sid AS text) IS NULL OR c.shelter_id = :sid)"""
    # The shelters' names (geo.shelters) first: the check-ins then stream on their own.
    ids = list((await session.execute(text(f"SELECT DISTINCT c.shelter_id FROM shelter_checkins c WHERE {where}"),
                                      params)).scalars())
    names = {r[0]: r[1] for r in await shelters_repo.names_of(session, ids)} if ids else {}
    result = await session.stream(text(
        f"""SELECT {_CHECKIN_COLS} FROM shelter_checkins c WHERE {where}
            ORDER BY c.municipality_code, c.shelter_id, c.checked_in_at, c.id"""), params)
    async for part in result.mappings().partitions(500):
        for row in part:
            # A check-in's shelter always exists (foreign key); only a shelter whose first
            # check-in landed between the two reads (a moment apart) is listed by its id.
            yield dict(row, shelter_name=names.get(row["shelter_id"], row["shelter_id"]))


async def roster_outside(session: AsyncSession, municipality_code: str | None) -> AsyncIterator[dict]:
    result = await session.stream(text(
        """SELECT * FROM outside_evacuations
           WHERE expires_at > now() AND (CAST(:m AS text) IS NULL OR municipality_code = :m)
           ORDER BY municipality_code, updated_at, resident_id"""), {"m": municipality_code})
    async for part in result.mappings().partitions(500):
        for row in part:
            yield dict(row)


async def safety_figures(session: AsyncSession, municipality_code: str | None) -> dict[str, int]:
    """Residents (by their home) whose status is "need help", and safety checks still unanswered."""
    # Each owner's count over the residents whose home is in the scope (places first).
    home = await places_repo.residents_with_home(session, municipality_code)
    return {"need_help": await family_repo.count_with_status(session, home, "need_help"),
            "safety_checks_unanswered": await safety_repo.count_unanswered(session, home)}
