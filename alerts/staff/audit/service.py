"""``record``: one audit row in the caller's transaction (so a rolled-back change leaves no trace
and a committed change always has one). Never commits."""

from __future__ import annotations

from typing import Any, Protocol

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.staff.audit import repository
from alerts.staff.audit.models import AuditEntry

MAX_PAGE = 500


class Actor(Protocol):
    """Who acted: read-only (a StaffPrincipal is frozen)."""

    @property
    def id(self) -> int: ...

    @property
    def username(self) -> str: ...

    @property
    def role(self) -> str: ...


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    return orjson.loads(orjson.dumps(value, default=str))


async def record(
    session: AsyncSession,
    actor: Actor | None,
    action: str,
    target: tuple[str, Any],
    before: dict | None = None,
    after: dict | None = None,
    *,
    municipality_code: str | None = None,
) -> AuditEntry:
    """Append one entry. ``actor`` None means the system (CLI, scheduled job)."""
    target_type, target_id = target
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        actor_username=getattr(actor, "username", None) or "system",
        actor_role=getattr(actor, "role", None),
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        municipality_code=municipality_code,
        before=_jsonable(before),
        after=_jsonable(after),
    )
    session.add(entry)
    await session.flush()
    return entry


async def list_entries(
    session: AsyncSession,
    *,
    municipality_code: str | None = None,
    restrict_to_municipality: bool = False,
    target_type: str | None = None,
    target_id: str | None = None,
    action: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    return await repository.list_entries(
        session,
        municipality_code=municipality_code,
        restrict_to_municipality=restrict_to_municipality,
        target_type=target_type,
        target_id=target_id,
        action=action,
        before_id=before_id,
        limit=min(max(limit, 1), MAX_PAGE),
    )


def present(e: AuditEntry) -> dict:
    return {
        "id": e.id,
        "at": e.at.isoformat() if e.at else None,
        "actor": {"id": e.actor_id, "username": e.actor_username, "role": e.actor_role},
        "action": e.action,
        "target": {"type": e.target_type, "id": e.target_id},
        "municipality_code": e.municipality_code,
        "before": e.before,
        "after": e.after,
    }
