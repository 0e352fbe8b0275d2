"""PFIF 1.4 export of a family group's safety statuses, for cross-search services
(Google Person Finder-style, J-anpi).

One ``pfif:person`` per member (self-registered: ``full_name`` is the name the member gave
the group) and one ``pfif:note`` per status change, newest last. Element order follows the
PFIF 1.4 schema. Our statuses map to PFIF note status as follows:

| bousai       | PFIF ``status``   | also                                                |
|--------------|-------------------|-----------------------------------------------------|
| safe         | is_note_author    | the member wrote it: ``author_made_contact`` true   |
| need_help    | believed_alive    | ``text`` starts "Needs help."                       |
| at_shelter   | believed_alive    | ``last_known_location`` = shelter name (+ location) |
| evacuated    | believed_alive    | ``last_known_location`` = shared location, if any   |
| unknown      | information_sought|                                                     |

A location appears only when its owner shared it (it is not stored otherwise) and still
shares it: a member whose current status no longer shares a location has withdrawn it, and
no note of theirs carries one (``set_status`` also erases it from their history). A group
sees a member's notes only from when the member joined it: what they said before belongs
to the groups they were in then.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree
from sqlalchemy.ext.asyncio import AsyncSession

from my_evacuation.family import repository as family_repo

PFIF_NS = "http://zesty.ca/pfif/1.4"
DEFAULT_DOMAIN = "bousai.pref.fukushima.jp"
# Notes per person in one export: the recent history is what a searcher needs.
MAX_NOTES_PER_PERSON = 50

STATUS_TO_PFIF = {
    "safe": "is_note_author",
    "need_help": "believed_alive",
    "at_shelter": "believed_alive",
    "evacuated": "believed_alive",
    "unknown": "information_sought",
}


def _q(tag: str) -> str:
    return f"{{{PFIF_NS}}}{tag}"


def _date(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _add(parent, tag: str, value) -> None:
    if value is not None and value != "":
        etree.SubElement(parent, _q(tag)).text = str(value)


def _location(row, sharing: bool) -> str | None:
    parts = []
    if row.shelter_name:
        parts.append(row.shelter_name)
    if sharing and row.share_location and row.lat is not None:
        parts.append(f"{row.lat:.5f},{row.lon:.5f}")
    return " ".join(parts) or None


def _note_text(row) -> str | None:
    prefix = {"need_help": "Needs help.", "evacuated": "Evacuated elsewhere.", "at_shelter": "At a shelter."}.get(row.status)
    parts = [p for p in (prefix, row.message) if p]
    return " ".join(parts) or None


async def group_pfif(session: AsyncSession, group_id: int, *, domain: str = DEFAULT_DOMAIN,
                     now: datetime | None = None) -> bytes:
    now = now or datetime.now(UTC)
    members = await family_repo.pfif_members(session, group_id)
    notes = await family_repo.pfif_notes(session, group_id, MAX_NOTES_PER_PERSON)
    by_person: dict[int, list] = {}
    for n in notes:
        by_person.setdefault(n.resident_id, []).append(n)
    root = etree.Element(_q("pfif"), nsmap={"pfif": PFIF_NS})
    for m in members:
        pid = f"{domain}/person.g{group_id}.r{m.resident_id}"
        person = etree.SubElement(root, _q("person"))
        _add(person, "person_record_id", pid)
        _add(person, "entry_date", _date(now))
        _add(person, "author_name", m.display_name)
        _add(person, "source_name", domain)
        _add(person, "source_date", _date(m.joined_at))
        _add(person, "full_name", m.display_name)
        for n in by_person.get(m.resident_id, []):
            note = etree.SubElement(person, _q("note"))
            _add(note, "note_record_id", f"{domain}/note.{n.id}")
            _add(note, "person_record_id", pid)
            _add(note, "entry_date", _date(now))
            _add(note, "author_name", m.display_name)
            _add(note, "source_date", _date(n.created_at))
            # Every note is the member's own report about themselves.
            _add(note, "author_made_contact", "true")
            _add(note, "status", STATUS_TO_PFIF[n.status])
            _add(note, "last_known_location", _location(n, m.sharing))
            _add(note, "text", _note_text(n))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
