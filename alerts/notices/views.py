"""What a notice looks like to the routes and to the audit log: pure functions of the row."""

from __future__ import annotations

from typing import Any

from geoalchemy2.shape import to_shape
from shapely.geometry import mapping

from alerts.notices.models import EvacuationNotice

# A live order at these levels needs a second person (Hawaii 2018: one click, 38 minutes to correct).
APPROVAL_LEVELS = (4, 5)


def needs_approval(n: EvacuationNotice) -> bool:
    return not n.is_drill and n.msg_type != "cancel" and n.level in APPROVAL_LEVELS


def geometry_of(n: EvacuationNotice) -> dict | None:
    return None if n.geom is None else mapping(to_shape(n.geom))


def view(n: EvacuationNotice) -> dict[str, Any]:
    return {
        "id": n.id,
        "root_id": n.root_id,
        "references_id": n.references_id,
        "msg_type": n.msg_type,
        "state": n.state,
        "level": n.level,
        "is_drill": n.is_drill,
        "template": n.template,
        "target_kind": n.target_kind,
        "municipality_codes": list(n.municipality_codes or []),
        "district_ids": list(n.district_ids or []),
        "geometry": geometry_of(n),
        "reason": n.reason,
        "shelter_ids": list(n.shelter_ids or []),
        "needs_approval": needs_approval(n),
        "messages": n.messages,
        "created_by": n.created_by,
        "created_at": n.created_at.isoformat() if n.created_at else None,
        "submitted_by": n.submitted_by,
        "approved_by": n.approved_by,
        "approved_at": n.approved_at.isoformat() if n.approved_at else None,
        "rejection_note": n.rejection_note,
        "issued_by": n.issued_by,
        "issued_at": n.issued_at.isoformat() if n.issued_at else None,
        "alert_id": n.alert_id,
        "cap_identifier": n.cap_identifier,
    }


def audit_view(n: EvacuationNotice) -> dict[str, Any]:
    v = view(n)
    v.pop("messages", None)
    return v


def primary_municipality(n: EvacuationNotice) -> str | None:
    codes = list(n.municipality_codes or [])
    return codes[0] if len(codes) == 1 else None
