"""A notice as it would go out now: its CAP 1.2 document, that document read back by our own
CAP parser (what ingest stores, so targeting, dedupe and delivery treat it exactly like a
municipality's CAP feed), its messages and the shelters it names. Reads only; issuing is
``alerts.notices.flows``."""

from __future__ import annotations

from datetime import datetime

import structlog
from lxml import etree
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.cap_out import repository as cap_repo
from alerts.cap_out.writer import CapAlert, CapArea, CapInfo, cap_time, multipolygon_rings, reference, to_xml
from alerts.notices import repository as notices_repo
from alerts.notices import templates
from alerts.notices.models import EvacuationNotice
from alerts.notices.views import geometry_of
from alerts.sources.cap import parse_alert
from alerts.staff import repository as staff_repo
from alerts.staff.settings import get_staff_settings
from geo.areas import repository as areas_repo
from geo.shelters import repository as shelters_repo

log = structlog.get_logger()

# level → (urgency, severity, certainty, responseTypes); severity as the CAP profile maps the level.
CAP_LEVEL = {
    5: ("Immediate", "Extreme", "Observed", ["Shelter"]),
    4: ("Immediate", "Severe", "Likely", ["Evacuate"]),
    3: ("Expected", "Moderate", "Likely", ["Prepare", "Evacuate"]),
    0: ("Past", "Minor", "Observed", ["AllClear"]),
}
CAP_LANGS = {"ja": "ja-JP", "en": "en-US"}


def cap_identifier(notice_id: int) -> str:
    # CAP identifiers must be unique per sender and free of spaces, commas, '<' and '&'.
    return f"bousai-fukushima-notice-{notice_id}"


async def _area_label(session: AsyncSession, n: EvacuationNotice) -> str:
    names = await areas_repo.municipality_names(session, list(n.municipality_codes))
    label = "・".join(names.get(c, c) for c in n.municipality_codes)
    if n.target_kind == "districts" and n.district_ids:
        districts = await notices_repo.district_names(session, list(n.district_ids))
        label += " " + "・".join(districts)
    elif n.target_kind == "polygon":
        label += " 指定区域"
    return label


async def _sender_name(session: AsyncSession, n: EvacuationNotice, default: str) -> str:
    """Who issues it, as a receiver shows it: the municipality of the operator who drafted it
    (福島市 issues 福島市's orders), the prefecture's crisis management for prefecture staff."""
    from alerts.notices.targets import municipality_names

    municipality = await staff_repo.municipality_of(session, n.created_by) if n.created_by is not None else None
    if municipality is None:
        return default
    return (await municipality_names(session, [municipality])).get(municipality, default)


async def _shelters(session: AsyncSession, ids: list[str]) -> list[dict]:
    if not ids:
        return []
    rows = {r[0]: r[1] for r in await shelters_repo.names_of(session, ids)}
    return [{"id": i, "name": rows.get(i, i)} for i in ids]


async def _references(session: AsyncSession, n: EvacuationNotice, sender: str) -> list[str]:
    """Every message of the chain issued so far, the original first (it names the event)."""
    if n.msg_type == "alert":
        return []
    # The chain's identifiers in issue order, then what CAP sent under each (a notice whose
    # message is not stored is not referenced).
    identifiers = await notices_repo.chain_cap_identifiers(session, n.root_id)
    sent = await cap_repo.sent_texts(session, identifiers)
    return [reference(sender, ident, sent[ident]) for ident in identifiers if ident in sent]


def build_cap(
    n: EvacuationNotice, *, sent: str, sender: str, sender_name: str, messages: dict, area_label: str,
    geometry: dict | None, references: list[str], shelters: list[dict],
) -> CapAlert:
    urgency, severity, certainty, responses = CAP_LEVEL[n.level]
    area = CapArea(
        area_desc=area_label,
        polygons=multipolygon_rings(geometry) if n.target_kind != "municipality" else [],
        geocodes=[("JISX0402", c) for c in n.municipality_codes],
    )
    infos = []
    for lang, cap_lang in CAP_LANGS.items():
        m = messages[lang]
        infos.append(
            CapInfo(
                language=cap_lang,
                categories=["Safety"],
                event="避難情報" if lang == "ja" else "Evacuation information",
                response_types=["None"] if n.msg_type == "cancel" else responses,
                urgency=urgency,
                severity=severity,
                certainty=certainty,
                event_codes=[("bousai:evacuation-level", str(n.level))],
                sender_name=sender_name,
                headline=m["headline"],
                description=m["body"],
                # Once, in the Japanese info: receivers collect parameters across infos.
                parameters=[("bousai:shelter-id", s["id"]) for s in shelters] if lang == "ja" else [],
                areas=[area],
            )
        )
    return CapAlert(
        identifier=cap_identifier(n.id),
        sender=sender,
        sent=sent,
        status="Exercise" if n.is_drill else "Actual",
        msg_type={"alert": "Alert", "update": "Update", "cancel": "Cancel"}[n.msg_type],
        note="訓練 (drill) — not a real order" if n.is_drill else None,
        references=references,
        infos=infos,
    )


async def render_notice(session: AsyncSession, n: EvacuationNotice, now: datetime) -> tuple[CapAlert, dict, dict, list[dict]]:
    """The notice as it would go out now: its CAP document, that document read back by our
    own CAP parser (what ingest stores), its messages and the shelters it names."""
    settings = get_staff_settings()
    shelters = await _shelters(session, list(n.shelter_ids or []))
    area_label = await _area_label(session, n)
    messages = templates.render(
        level=n.level, msg_type=n.msg_type, is_drill=n.is_drill, area_label=area_label,
        shelter_names=[s["name"] for s in shelters], reason=n.reason,
    )
    geometry = geometry_of(n)
    refs = await _references(session, n, settings.cap_sender)
    sender_name = await _sender_name(session, n, settings.cap_sender_name)
    cap = build_cap(
        n, sent=cap_time(now), sender=settings.cap_sender, sender_name=sender_name, messages=messages,
        area_label=area_label, geometry=geometry, references=refs, shelters=shelters,
    )
    # Our own CAP document, read back by the feed parser: the stored alert is what any CAP receiver would see.
    normalized = parse_alert(etree.fromstring(to_xml(cap).encode("utf-8")), file=None).to_dict()
    normalized.update(
        origin="staff",
        notice_id=n.id,
        notice_root_id=n.root_id,
        level=n.level,
        is_drill=n.is_drill,
        messages=messages,
        open_shelters=shelters,
        reason=n.reason,
        reason_translated=False,
        target_kind=n.target_kind,
        municipality_codes=list(n.municipality_codes),
    )
    if geometry is not None:
        normalized["geometry"] = geometry
    return cap, normalized, messages, shelters
