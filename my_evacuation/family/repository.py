"""Family SQL. No commits here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_group(session: AsyncSession, name: str, owner_id: int, max_members: int) -> dict:
    row = (await session.execute(text(
        "INSERT INTO family_groups (name, owner_id, max_members) VALUES (:n, :o, :m) RETURNING *"),
        {"n": name, "o": owner_id, "m": max_members})).one()
    return dict(row._mapping)


async def lock_group(session: AsyncSession, group_id: int) -> dict | None:
    row = (await session.execute(text("SELECT * FROM family_groups WHERE id = :g FOR UPDATE"), {"g": group_id})).first()
    return dict(row._mapping) if row else None


async def get_group(session: AsyncSession, group_id: int) -> dict | None:
    row = (await session.execute(text("SELECT * FROM family_groups WHERE id = :g"), {"g": group_id})).first()
    return dict(row._mapping) if row else None


async def insert_member(session: AsyncSession, group_id: int, resident_id: int, display_name: str, role: str) -> bool:
    rows = await session.execute(text(
        """INSERT INTO family_members (group_id, resident_id, display_name, role) VALUES (:g, :r, :d, :role)
           ON CONFLICT DO NOTHING RETURNING resident_id"""),
        {"g": group_id, "r": resident_id, "d": display_name, "role": role})
    return rows.first() is not None


async def membership(session: AsyncSession, group_id: int, resident_id: int) -> dict | None:
    row = (await session.execute(text("SELECT * FROM family_members WHERE group_id = :g AND resident_id = :r"),
                                 {"g": group_id, "r": resident_id})).first()
    return dict(row._mapping) if row else None


async def count_members(session: AsyncSession, group_id: int) -> int:
    return (await session.execute(text("SELECT count(*) FROM family_members WHERE group_id = :g"), {"g": group_id})).scalar_one()


async def count_groups_of(session: AsyncSession, resident_id: int) -> int:
    return (await session.execute(text("SELECT count(*) FROM family_members WHERE resident_id = :r"),
                                  {"r": resident_id})).scalar_one()


async def delete_member(session: AsyncSession, group_id: int, resident_id: int) -> bool:
    rows = await session.execute(text(
        "DELETE FROM family_members WHERE group_id = :g AND resident_id = :r RETURNING resident_id"),
        {"g": group_id, "r": resident_id})
    return rows.first() is not None


async def oldest_member(session: AsyncSession, group_id: int) -> int | None:
    return (await session.execute(text(
        "SELECT resident_id FROM family_members WHERE group_id = :g ORDER BY joined_at, resident_id LIMIT 1"),
        {"g": group_id})).scalar_one_or_none()


async def transfer_owner(session: AsyncSession, group_id: int, resident_id: int) -> None:
    await session.execute(text("UPDATE family_groups SET owner_id = :r WHERE id = :g"), {"g": group_id, "r": resident_id})
    await session.execute(text("UPDATE family_members SET role = 'owner' WHERE group_id = :g AND resident_id = :r"),
                          {"g": group_id, "r": resident_id})


async def delete_group(session: AsyncSession, group_id: int) -> None:
    await session.execute(text("DELETE FROM family_groups WHERE id = :g"), {"g": group_id})


async def groups_of(session: AsyncSession, resident_id: int) -> list[dict]:
    rows = await session.execute(text(
        """SELECT g.* FROM family_groups g JOIN family_members m ON m.group_id = g.id
           WHERE m.resident_id = :r ORDER BY g.id"""), {"r": resident_id})
    return [dict(r._mapping) for r in rows]


_MEMBERS_WITH_STATUS = """SELECT m.resident_id, m.display_name, m.role, m.joined_at,
                    s.status, s.message, s.shelter_id, s.shelter_name, s.share_location, s.lat, s.lon,
                    s.updated_at, s.version
             FROM family_members m LEFT JOIN safety_statuses s ON s.resident_id = m.resident_id"""


async def members_with_status(session: AsyncSession, group_id: int, since: datetime | None = None) -> list[dict]:
    sql = _MEMBERS_WITH_STATUS + " WHERE m.group_id = :g"
    params: dict = {"g": group_id}
    if since is not None:
        sql += " AND s.updated_at > :since"
        params["since"] = since
    rows = await session.execute(text(sql + " ORDER BY m.joined_at, m.resident_id"), params)
    return [dict(r._mapping) for r in rows]


# The same for a caller who must be a member, in one round trip on a driver connection (the
# GET fast path): every member's row with ``changed`` (after ``since``), and no rows at all
# when the caller is not a member (then the route answers, 404).
_MEMBERS_WITH_STATUS_FOR_MEMBER = (
    _MEMBERS_WITH_STATUS.replace("s.version", "s.version, ($3::timestamptz IS NULL OR s.updated_at > $3) AS changed")
    + " WHERE m.group_id = $1 AND EXISTS (SELECT 1 FROM family_members me WHERE me.group_id = $1 AND me.resident_id = $2)"
    " ORDER BY m.joined_at, m.resident_id"
)


async def members_with_status_raw(raw: Any, group_id: int, member_id: int, since: datetime | None) -> list[Any]:
    return list(await raw.fetch(_MEMBERS_WITH_STATUS_FOR_MEMBER, group_id, member_id, since))


async def insert_invite(session: AsyncSession, group_id: int, code_hash: bytes, created_by: int,
                        expires_at: datetime, max_uses: int) -> None:
    await session.execute(text(
        """INSERT INTO family_invites (group_id, code_hash, created_by, expires_at, max_uses)
           VALUES (:g, :h, :c, :e, :m)"""),
        {"g": group_id, "h": code_hash, "c": created_by, "e": expires_at, "m": max_uses})


async def lock_invite(session: AsyncSession, code_hash: bytes) -> dict | None:
    row = (await session.execute(text("SELECT * FROM family_invites WHERE code_hash = :h FOR UPDATE"),
                                 {"h": code_hash})).first()
    return dict(row._mapping) if row else None


async def use_invite(session: AsyncSession, invite_id: int) -> None:
    await session.execute(text("UPDATE family_invites SET uses = uses + 1 WHERE id = :i"), {"i": invite_id})


async def co_members(session: AsyncSession, resident_id: int) -> list[dict]:
    """Everyone who shares a group with the resident (once each), with the resident's name as
    that person sees it (from the lowest shared group). Their languages are the residents
    repository's (:func:`my_evacuation.residents.repository.languages`)."""
    rows = await session.execute(text(
        """SELECT DISTINCT ON (o.resident_id) o.resident_id, me.display_name
           FROM family_members me
           JOIN family_members o ON o.group_id = me.group_id AND o.resident_id <> me.resident_id
           WHERE me.resident_id = :r
           ORDER BY o.resident_id, me.group_id"""), {"r": resident_id})
    return [dict(r._mapping) for r in rows]


# ---------------------------------------------------------------------------------------
# Safety statuses (my_evacuation.family.statuses)
# ---------------------------------------------------------------------------------------


async def upsert_status(session: AsyncSession, params: dict) -> dict:
    """The resident's new current status (``params``: r, s, sid, sname, m, share, lat, lon); the row."""
    row = (await session.execute(text(
        """INSERT INTO safety_statuses (resident_id, status, shelter_id, shelter_name, message, share_location,
                                        lat, lon, version, updated_at)
           VALUES (:r, :s, :sid, :sname, :m, :share, :lat, :lon, 1, now())
           ON CONFLICT (resident_id) DO UPDATE SET status = EXCLUDED.status, shelter_id = EXCLUDED.shelter_id,
             shelter_name = EXCLUDED.shelter_name, message = EXCLUDED.message,
             share_location = EXCLUDED.share_location, lat = EXCLUDED.lat, lon = EXCLUDED.lon,
             version = safety_statuses.version + 1, updated_at = now()
           RETURNING *"""), params)).one()
    return dict(row._mapping)


async def insert_status_history(session: AsyncSession, params: dict) -> None:
    """One history row (``params`` as :func:`upsert_status`'s, plus v and at)."""
    await session.execute(text(
        """INSERT INTO safety_status_history (resident_id, version, status, shelter_id, shelter_name, message,
                                              share_location, lat, lon, created_at)
           VALUES (:r, :v, :s, :sid, :sname, :m, :share, :lat, :lon, :at)"""), params)


async def withdraw_shared_locations(session: AsyncSession, resident_id: int) -> None:
    """Erase every location the resident's status history holds."""
    await session.execute(text(
        """UPDATE safety_status_history SET lat = NULL, lon = NULL, share_location = false
           WHERE resident_id = :r AND (lat IS NOT NULL OR share_location)"""), {"r": resident_id})


async def get_status(session: AsyncSession, resident_id: int, *, for_update: bool = False) -> dict | None:
    sql = "SELECT * FROM safety_statuses WHERE resident_id = :r" + (" FOR UPDATE" if for_update else "")
    row = (await session.execute(text(sql), {"r": resident_id})).first()
    return dict(row._mapping) if row else None


async def status_before_shelter(session: AsyncSession, resident_id: int, version: int):
    """(status, message) of the newest history entry before ``version`` that is not at a shelter."""
    return (await session.execute(text(
        """SELECT status, message FROM safety_status_history
           WHERE resident_id = :r AND version < :v AND status <> 'at_shelter'
           ORDER BY version DESC LIMIT 1"""), {"r": resident_id, "v": version})).first()


# ---------------------------------------------------------------------------------------
# PFIF export (my_evacuation.pfif)
# ---------------------------------------------------------------------------------------


async def pfif_members(session: AsyncSession, group_id: int) -> list:
    """The group's members with whether their current status shares a location."""
    return list((await session.execute(text(
        """SELECT m.resident_id, m.display_name, m.joined_at, COALESCE(s.share_location, false) AS sharing
           FROM family_members m LEFT JOIN safety_statuses s ON s.resident_id = m.resident_id
           WHERE m.group_id = :g ORDER BY m.joined_at, m.resident_id"""), {"g": group_id})).all())


async def pfif_notes(session: AsyncSession, group_id: int, per_person: int) -> list:
    """Each member's newest ``per_person`` status changes since joining the group, oldest first."""
    return list((await session.execute(text(
        """SELECT * FROM (
             SELECT h.*, row_number() OVER (PARTITION BY h.resident_id ORDER BY h.version DESC) AS rn
             FROM safety_status_history h
             JOIN family_members m ON m.resident_id = h.resident_id AND m.group_id = :g
             WHERE h.created_at >= m.joined_at) x
           WHERE rn <= :n ORDER BY resident_id, version"""), {"g": group_id, "n": per_person})).all())


# ---------------------------------------------------------------------------------------
# A resident's own data (my_evacuation.export)
# ---------------------------------------------------------------------------------------


async def export_rows(session: AsyncSession, resident_id: int) -> tuple[list[dict], list[dict], list[dict]]:
    """The resident's current status (0 or 1 row), its history and their groups."""
    r = {"r": resident_id}
    status = [dict(x._mapping) for x in await session.execute(text("SELECT * FROM safety_statuses WHERE resident_id = :r"), r)]
    history = [dict(x._mapping) for x in await session.execute(
        text("SELECT * FROM safety_status_history WHERE resident_id = :r ORDER BY version"), r)]
    groups = [dict(x._mapping) for x in await session.execute(text(
        """SELECT g.id, g.name, m.display_name, m.role, m.joined_at
           FROM family_members m JOIN family_groups g ON g.id = m.group_id
           WHERE m.resident_id = :r ORDER BY g.id"""), r)]
    return status, history, groups


async def delete_groups_with_members(session: AsyncSession, resident_ids: list[int]) -> None:
    """Delete every group any of these residents belongs to (the demo's reload)."""
    await session.execute(
        text("DELETE FROM family_groups WHERE id IN (SELECT group_id FROM family_members WHERE resident_id = ANY(:ids))"),
        {"ids": resident_ids},
    )


# ---------------------------------------------------------------------------------------
# Safety checks (my_evacuation.safety.service)
# ---------------------------------------------------------------------------------------


async def watched_members(session: AsyncSession, watcher_ids: list[int]) -> list:
    """Each (watcher, other member of a group of theirs) once, from the lowest shared group:
    watcher, member, display_name, the member's status, shelter_name, message, joined_at, group_id."""
    return list((await session.execute(text(
        """SELECT DISTINCT ON (me.resident_id, o.resident_id)
                  me.resident_id AS watcher, o.resident_id AS member, o.display_name,
                  s.status, s.shelter_name, s.message, o.joined_at, o.group_id
           FROM family_members me
           JOIN family_members o ON o.group_id = me.group_id AND o.resident_id <> me.resident_id
           LEFT JOIN safety_statuses s ON s.resident_id = o.resident_id
           WHERE me.resident_id = ANY(CAST(:ids AS bigint[]))
           ORDER BY me.resident_id, o.resident_id, o.group_id"""), {"ids": watcher_ids})).all())


async def members_of_groups_of(session: AsyncSession, resident_ids: list[int]) -> list:
    """Every member (group_id, resident_id, display_name) of every group these residents are in,
    by group, then joining order."""
    return list((await session.execute(text(
        """SELECT fm.group_id, fm.resident_id, fm.display_name
           FROM family_members fm
           WHERE fm.group_id IN (SELECT group_id FROM family_members WHERE resident_id = ANY(CAST(:ids AS bigint[])))
           ORDER BY fm.group_id, fm.joined_at, fm.resident_id"""), {"ids": resident_ids})).all())


async def count_with_status(session: AsyncSession, resident_ids: list[int], status: str) -> int:
    """How many of these residents' safety statuses are ``status``."""
    return (await session.execute(
        text("SELECT count(*) FROM safety_statuses WHERE resident_id = ANY(CAST(:ids AS bigint[])) AND status = :s"),
        {"ids": resident_ids, "s": status})).scalar_one()
