"""Feeds out: issued notices and shelter changes as CAP 1.2, listed in an Atom feed.

Public (no sign-in): this is what broadcasters, L-Alert-style receivers and aggregators
poll. Drills (status Exercise) are left out unless asked for, so a receiver that ignores
status still never shows one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, Path
from lxml import etree
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.cap_out import service
from alerts.cap_out.writer import cap_time
from server.deps import SESSION
from server.schemas import AtomResponse, CapXmlResponse, text_body
from alerts.staff.settings import get_staff_settings

# Postgres bigint: a larger id is a bad request (422), never a database error.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]

router = APIRouter(tags=["feeds out"])

ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_MIME = "application/cap+xml"


def _base(request: Request) -> str:
    return (get_staff_settings().public_base_url or str(request.base_url)).rstrip("/")


@router.get("/v1/feeds/cap.atom", response_class=AtomResponse,
            responses=text_body("application/atom+xml", "Atom feed of the latest CAP 1.2 documents"))
async def cap_feed(
    request: Request,
    include_drills: bool = Query(False, description="also list drills (CAP status Exercise)"),
    session: AsyncSession = SESSION,
):
    settings = get_staff_settings()
    base = _base(request)
    messages = await service.latest(session, include_drills=include_drills)
    A = f"{{{ATOM_NS}}}"
    feed = etree.Element(f"{A}feed", nsmap={None: ATOM_NS})
    etree.SubElement(feed, f"{A}id").text = f"{base}/v1/feeds/cap.atom"
    etree.SubElement(feed, f"{A}title").text = f"{settings.cap_sender_name} 避難情報・避難所 (CAP 1.2)"
    etree.SubElement(feed, f"{A}updated").text = cap_time(messages[0].sent_at) if messages else "1970-01-01T09:00:00+09:00"
    author = etree.SubElement(feed, f"{A}author")
    etree.SubElement(author, f"{A}name").text = settings.cap_sender_name
    etree.SubElement(feed, f"{A}link", rel="self", href=f"{base}/v1/feeds/cap.atom")
    for m in messages:
        url = f"{base}/v1/feeds/cap/{m.id}.xml"
        entry = etree.SubElement(feed, f"{A}entry")
        # atom:id must be an absolute IRI (RFC 4287): the document's own address, stable per message.
        etree.SubElement(entry, f"{A}id").text = url
        etree.SubElement(entry, f"{A}title").text = m.title
        etree.SubElement(entry, f"{A}updated").text = m.sent_text
        etree.SubElement(entry, f"{A}link", rel="alternate", type=CAP_MIME, href=url)
        content = etree.SubElement(entry, f"{A}content", type=CAP_MIME)
        content.append(etree.fromstring(m.xml.encode("utf-8")))
    # Not pretty-printed: indenting would add text inside the signed documents it embeds.
    body = etree.tostring(feed, xml_declaration=True, encoding="UTF-8")
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get("/v1/feeds/cap/{message_id}.xml", response_class=CapXmlResponse,
            responses=text_body("application/cap+xml", "One CAP 1.2 document (signed when signing is on)"))
async def cap_document(message_id: RowId, session: AsyncSession = SESSION):
    m = await service.by_id(session, message_id)
    return Response(m.xml.encode("utf-8"), media_type=f"{CAP_MIME}; charset=utf-8")
