"""Publish a CAP document (store it as sent) and read the feed. Never commits."""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.cap_out import repository
from alerts.cap_out.models import CapMessage
from alerts.cap_out.signing import CapSigningError, current_signer, signed_xml
from alerts.cap_out.writer import CapAlert, to_element, to_xml
from server.errors import NotFound

log = structlog.get_logger()

FEED_SIZE = 100  # entries in the Atom feed: aggregators poll often and take what is new


def document(alert: CapAlert) -> str:
    """The document as published: signed when a signing key is configured (alerts.cap_out.signing).

    A broken key or certificate never holds back an evacuation notice: the document goes out
    unsigned and the failure is logged as an error for the operator."""
    try:
        signer = current_signer()
        if signer is not None:
            return signed_xml(to_element(alert), signer)
    except CapSigningError as exc:
        log.error("alerts.cap_out.signing_failed", identifier=alert.identifier, error=str(exc))
    return to_xml(alert)


async def publish(session: AsyncSession, alert: CapAlert, *, subject_type: str, subject_id: str, sent_at: datetime, title: str) -> CapMessage:
    msg = CapMessage(
        identifier=alert.identifier,
        subject_type=subject_type,
        subject_id=str(subject_id),
        msg_type=alert.msg_type.lower(),
        is_drill=alert.status != "Actual",
        sent_at=sent_at,
        sent_text=alert.sent,
        title=title,
        xml=document(alert),
    )
    session.add(msg)
    await session.flush()
    return msg


async def latest(session: AsyncSession, *, include_drills: bool = False, limit: int = FEED_SIZE) -> list[CapMessage]:
    return await repository.latest(session, include_drills=include_drills, limit=limit)


async def by_id(session: AsyncSession, message_id: int) -> CapMessage:
    msg = await session.get(CapMessage, message_id)
    if msg is None:
        raise NotFound(f"no CAP message {message_id}")
    return msg


async def by_identifier(session: AsyncSession, identifier: str) -> CapMessage | None:
    return await repository.by_identifier(session, identifier)
