"""The audit log's reads (``audit_log``). Never commits."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.staff.audit.models import AuditEntry


async def list_entries(
    session: AsyncSession,
    *,
    municipality_code: str | None,
    restrict_to_municipality: bool,
    target_type: str | None,
    target_id: str | None,
    action: str | None,
    before_id: int | None,
    limit: int,
) -> list[AuditEntry]:
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if restrict_to_municipality:
        q = q.where(AuditEntry.municipality_code == municipality_code)
    elif municipality_code:
        q = q.where(AuditEntry.municipality_code == municipality_code)
    if target_type:
        q = q.where(AuditEntry.target_type == target_type)
    if target_id:
        q = q.where(AuditEntry.target_id == target_id)
    if action:
        q = q.where(AuditEntry.action == action)
    if before_id:
        q = q.where(AuditEntry.id < before_id)
    return list((await session.execute(q)).scalars())


async def has_entry(session: AsyncSession, *, target_type: str, target_id: str, action: str) -> bool:
    """Whether the log already holds an entry of ``action`` on this target."""
    return (await session.execute(text(
        "SELECT EXISTS (SELECT 1 FROM audit_log "
        "WHERE target_type = :tt AND target_id = :t AND action = :a)"),
        {"tt": target_type, "t": target_id, "a": action})).scalar_one()
