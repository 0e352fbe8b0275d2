"""Family groups and invites. A group is visible only to its members: for anyone else it
does not exist (404, so existence never leaks). Never commits."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from my_evacuation.config import get_config
from my_evacuation.family import repository as repo
from my_evacuation.family.schemas import GroupCreate, GroupOut, InviteCreate, InviteOut, JoinIn, MemberOut, StatusOut
from my_evacuation.family.statuses import status_out
from server.errors import AppError, Conflict, Forbidden, LimitExceeded, NotFound

# Crockford base32 without I L O U: read aloud or typed from paper without confusion.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# 10 symbols = 50 bits; with expiry and single use, guessing one is hopeless.
CODE_LENGTH = 10


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(code: str) -> str:
    c = code.strip().upper().replace("-", "").replace(" ", "")
    return c.replace("O", "0").replace("I", "1").replace("L", "1")


def hash_code(code: str) -> bytes:
    return hashlib.sha256(normalize_code(code).encode()).digest()


def _not_found(group_id: int) -> NotFound:
    return NotFound(f"group {group_id} not found")


async def require_member(session: AsyncSession, group_id: int, resident_id: int) -> dict:
    m = await repo.membership(session, group_id, resident_id)
    if m is None:
        raise _not_found(group_id)
    return m


async def _check_group_quota(session: AsyncSession, resident_id: int) -> None:
    limit = get_config().max_groups_per_resident
    if await repo.count_groups_of(session, resident_id) >= limit:
        raise LimitExceeded(f"a resident may be in at most {limit} groups", detail={"limit": limit})


async def create_group(session: AsyncSession, resident_id: int, body: GroupCreate) -> GroupOut:
    await _check_group_quota(session, resident_id)
    g = await repo.insert_group(session, body.name, resident_id, get_config().max_group_members)
    await repo.insert_member(session, g["id"], resident_id, body.display_name, "owner")
    return await get_group(session, g["id"], resident_id)


async def get_group(session: AsyncSession, group_id: int, resident_id: int) -> GroupOut:
    await require_member(session, group_id, resident_id)
    g = await repo.get_group(session, group_id)
    members = [MemberOut(resident_id=r["resident_id"], display_name=r["display_name"], role=r["role"],
                         joined_at=r["joined_at"], status=status_out(r))
               for r in await repo.members_with_status(session, group_id)]
    return GroupOut(**g, members=members)


async def list_groups(session: AsyncSession, resident_id: int) -> list[GroupOut]:
    return [GroupOut(**g) for g in await repo.groups_of(session, resident_id)]


async def create_invite(session: AsyncSession, group_id: int, resident_id: int, body: InviteCreate) -> InviteOut:
    """Any member may invite (a grandchild sets up the grandparents' phones)."""
    await require_member(session, group_id, resident_id)
    cfg = get_config()
    ttl = body.ttl_hours or cfg.invite_ttl_hours
    if ttl > cfg.invite_max_ttl_hours:
        raise AppError(f"ttl_hours must be at most {cfg.invite_max_ttl_hours}", code="invalid_ttl")
    code = new_code()
    expires_at = datetime.now(UTC) + timedelta(hours=ttl)
    await repo.insert_invite(session, group_id, hash_code(code), resident_id, expires_at, body.max_uses)
    return InviteOut(code=f"{code[:5]}-{code[5:]}", group_id=group_id, expires_at=expires_at, max_uses=body.max_uses)


async def join(session: AsyncSession, resident_id: int, body: JoinIn) -> GroupOut:
    invite = await repo.lock_invite(session, hash_code(body.code))
    # One answer for unknown, expired, revoked and used-up codes: a code says nothing about a group.
    invalid = AppError("this invite code is not valid (unknown, expired or already used)", code="invalid_invite",
                       status_code=404)
    if invite is None or invite["revoked_at"] is not None or invite["expires_at"] <= datetime.now(UTC) \
            or invite["uses"] >= invite["max_uses"]:
        raise invalid
    group = await repo.lock_group(session, invite["group_id"])
    if group is None:
        raise invalid
    if await repo.membership(session, group["id"], resident_id) is not None:
        raise Conflict("you are already a member of this group", code="already_member")
    await _check_group_quota(session, resident_id)
    if await repo.count_members(session, group["id"]) >= group["max_members"]:
        raise LimitExceeded(f"this group is full ({group['max_members']} members)",
                            detail={"limit": group["max_members"]})
    await repo.insert_member(session, group["id"], resident_id, body.display_name, "member")
    await repo.use_invite(session, invite["id"])
    return await get_group(session, group["id"], resident_id)


async def leave(session: AsyncSession, group_id: int, resident_id: int) -> None:
    group = await repo.lock_group(session, group_id)
    if group is None or not await repo.delete_member(session, group_id, resident_id):
        raise _not_found(group_id)
    if group["owner_id"] == resident_id:
        successor = await repo.oldest_member(session, group_id)
        if successor is None:
            await repo.delete_group(session, group_id)
        else:
            await repo.transfer_owner(session, group_id, successor)


async def remove_member(session: AsyncSession, group_id: int, resident_id: int, member_id: int) -> None:
    me = await require_member(session, group_id, resident_id)
    if me["role"] != "owner":
        raise Forbidden("only the group's owner can remove members", code="not_owner")
    if member_id == resident_id:
        raise AppError("the owner leaves with POST /v1/groups/{id}/leave", code="cannot_remove_self")
    await repo.lock_group(session, group_id)
    if not await repo.delete_member(session, group_id, member_id):
        raise NotFound(f"resident {member_id} is not a member of group {group_id}")


async def group_statuses(session: AsyncSession, group_id: int, resident_id: int, since: datetime | None) -> list[StatusOut]:
    """The pull side of family safety: every member's current status (location only if they opted in)."""
    await require_member(session, group_id, resident_id)
    rows = await repo.members_with_status(session, group_id, since)
    return [s for s in (status_out(r) for r in rows) if s is not None]


async def group_statuses_raw(raw: Any, group_id: int, resident_id: int, since: datetime | None) -> list[StatusOut] | None:
    """The same on a driver connection (the GET fast path); None when they are not a member."""
    rows = await repo.members_with_status_raw(raw, group_id, resident_id, since)
    if not rows:
        return None
    return [s for s in (status_out(r) for r in rows if r["changed"]) if s is not None]
