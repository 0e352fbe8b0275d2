"""CAP 1.2 / 1.1 / 1.0 alerts (and CAP embedded in Atom) → normalized alerts.

One ``<alert>`` gives one normalized alert. The headline/severity/expiry come from the
Japanese ``<info>`` when there is one (``ja``/``ja-JP``), else the first; every info's
language and headline is kept in ``infos`` so a renderer can choose. Areas and shapes
are collected from *all* infos, de-duplicated: a multilingual alert repeats the same
area under each language.

msgType Ack/Error are protocol messages, not alerts → :class:`NotAnAlert`. A Cancel
without ``<info>`` is a valid cancel. For Update/Cancel the ``event_id`` is the
identifier of the *original* alert (first entry of ``<references>``), so the rest of
the system attaches it to the event it changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lxml import etree

from . import cap_profile as jp
from .geometry import ShapeError, cap_polygon_to_ring, circle_to_ring, multipolygon, parse_cap_circle
from .normalized import SEVERITY_RANK, NormalizedAlert
from .safexml import CAP_NS_PREFIX, DocumentError, NotAnAlert

MSG_TYPES = {"alert": "alert", "update": "update", "cancel": "cancel"}


def _t(el: etree._Element | None, name: str) -> str | None:
    if el is None:
        return None
    c = el.find("{*}" + name)
    if c is None or c.text is None:
        return None
    v = c.text.strip()
    return v or None


def _all(el: etree._Element | None, name: str) -> list[str]:
    if el is None:
        return []
    return [c.text.strip() for c in el.findall("{*}" + name) if c.text and c.text.strip()]


def _pairs(el: etree._Element, name: str) -> list[tuple[str, str]]:
    out = []
    for p in el.findall("{*}" + name):
        k, v = _t(p, "valueName"), _t(p, "value")
        if k is not None:
            out.append((k, v or ""))
    return out


def _iso(value: str | None) -> str | None:
    if not value:
        return None
    v = value.strip()
    if v.endswith("Z"):  # forbidden by CAP 1.2 but common; it is UTC
        v = v[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(v)
    except ValueError:
        return None
    if dt.tzinfo is None:
        return None  # a CAP time without offset is ambiguous; caller records it
    return dt.isoformat()


def parse_references(text: str | None) -> list[dict[str, str]]:
    """``sender,identifier,sent`` triples, space separated."""
    out = []
    for tok in (text or "").split():
        parts = tok.split(",")
        if len(parts) >= 2:
            out.append({"sender": parts[0], "identifier": parts[1], "sent": ",".join(parts[2:]) or None})
    return out


def _is_ja(lang: str | None) -> bool:
    return (lang or "").lower().replace("_", "-").split("-")[0] == "ja"


def _severity(value: str | None) -> str:
    v = (value or "").strip().capitalize()
    return v if v in SEVERITY_RANK else "Unknown"


def parse_alert(root: etree._Element, file: str | None = None) -> NormalizedAlert:
    ns = etree.QName(root).namespace or ""
    if not ns.startswith(CAP_NS_PREFIX):
        raise DocumentError("unsupported_document", "not a CAP alert")
    identifier, sender, sent = _t(root, "identifier"), _t(root, "sender"), _t(root, "sent")
    status = _t(root, "status") or "Actual"
    raw_type = _t(root, "msgType") or ""
    msg_type = MSG_TYPES.get(raw_type.lower())
    if msg_type is None:
        raise NotAnAlert(message=f"CAP msgType {raw_type[:20] or '(missing)'} is not an alert")
    if not identifier or not sender or not sent:
        raise DocumentError("malformed_cap", "CAP alert without identifier, sender or sent")
    issued_at = _iso(sent)
    if issued_at is None:
        raise DocumentError("malformed_cap", "CAP sent is not an ISO 8601 time with offset")

    warnings: list[str] = []
    refs = parse_references(_t(root, "references"))
    if msg_type in ("update", "cancel") and not refs:
        warnings.append(f"{raw_type} without references; treated as its own event")
    event_id = refs[0]["identifier"] if (msg_type in ("update", "cancel") and refs) else identifier

    infos = root.findall("{*}info")
    chosen = next((i for i in infos if _is_ja(_t(i, "language"))), infos[0] if infos else None)

    info_summaries = []
    for i in infos:
        info_summaries.append(
            {
                "language": _t(i, "language") or "en-US",  # CAP default
                "headline": _t(i, "headline"),
                "event": _t(i, "event"),
                "severity": _t(i, "severity"),
                "urgency": _t(i, "urgency"),
                "certainty": _t(i, "certainty"),
                "description": _t(i, "description"),
                "instruction": _t(i, "instruction"),
            }
        )

    areas, rings, circles = _areas_and_shapes(infos, warnings)

    event = _t(chosen, "event")
    cap_categories = _all(chosen, "category")
    event_codes: dict[str, list[str]] = {}
    params: list[tuple[str, str]] = []
    for i in infos:
        for k, v in _pairs(i, "eventCode"):
            event_codes.setdefault(k, []).append(v)
        params.extend(_pairs(i, "parameter"))
    headline = _t(chosen, "headline") or event
    category = jp.category_for(event, cap_categories, event_codes) if chosen is not None else "other"
    severity = _severity(_t(chosen, "severity")) if chosen is not None else "Unknown"

    level = None
    shelters = None
    if category == "evacuation":
        level = jp.evacuation_level(event_codes, headline, event)
        if level is not None:
            severity = jp.EVACUATION_SEVERITY[level]
    elif category == "shelter":
        shelters = jp.shelters_from(params, event_codes) or None
    elif category == "civil_protection":
        severity = "Extreme"

    description = _t(chosen, "description")
    instruction = _t(chosen, "instruction")
    text = "\n".join(t for t in (description, instruction) if t) or None

    alert = NormalizedAlert(
        source="cap",
        file=file,
        msg_type=msg_type,
        event_id=event_id,
        source_id=f"{sender},{identifier},{sent}",
        issued_at=issued_at,
        category=category,
        headline=headline,
        severity=severity,
        expires_at=_iso(_t(chosen, "expires")),
        areas=areas,
        geometry=multipolygon(rings),
        status=status,
        # Exercise/Test/System/Draft are never real alerts; only Actual is.
        is_drill=status != "Actual",
        title=event,
        text=text,
        level=level,
        shelters=shelters,
        infos=info_summaries or None,
        references=refs or None,
        circles=circles or None,
        sender=sender,
        parse_warnings=warnings,
    )
    if _t(root, "scope") and _t(root, "scope") != "Public":
        alert.parse_warnings.append(f"scope {_t(root, 'scope')}")
    if chosen is not None and _t(chosen, "expires") and alert.expires_at is None:
        alert.parse_warnings.append("expires without offset ignored")
    return alert


def _areas_and_shapes(infos, warnings: list[str]):
    areas: list[dict[str, Any]] = []
    seen: set[tuple] = set()
    rings: list[list[list[float]]] = []
    ring_keys: set[str] = set()
    circles: list[dict[str, Any]] = []
    for info in infos:
        for area in info.findall("{*}area"):
            desc = _t(area, "areaDesc")
            geocodes = _pairs(area, "geocode")
            for scheme, value in geocodes:
                entry: dict[str, Any] = {"code": value, "name": desc, "scheme": scheme}
                if scheme.strip().lower() in jp.JISX0402_SCHEMES:
                    code, warn = jp.normalize_municipality_code(value)
                    if warn:
                        warnings.append(warn)
                    if code is None:
                        continue
                    entry.update(code=code, kind="municipality")
                key = ("g", entry["scheme"], entry["code"])
                if key not in seen:
                    seen.add(key)
                    areas.append(entry)
            if not geocodes and desc and ("d", desc) not in seen:
                seen.add(("d", desc))
                areas.append({"code": None, "name": desc, "kind": "area_desc"})
            for poly in _all(area, "polygon"):
                try:
                    ring = cap_polygon_to_ring(poly)
                except ShapeError as exc:
                    warnings.append(f"polygon skipped: {exc}")
                    continue
                k = repr(ring)
                if k not in ring_keys:
                    ring_keys.add(k)
                    rings.append(ring)
            for circ in _all(area, "circle"):
                try:
                    c = parse_cap_circle(circ)
                except ShapeError as exc:
                    warnings.append(f"circle skipped: {exc}")
                    continue
                if c not in circles:
                    circles.append(c)
                    rings.append(circle_to_ring(c["lat"], c["lon"], c["radius_km"]))
    return areas, rings, circles


def embedded_alerts(root: etree._Element) -> list[etree._Element]:
    """CAP ``<alert>`` elements inside an Atom feed (entry content), outermost only."""
    out = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        q = etree.QName(el)
        if q.localname == "alert" and (q.namespace or "").startswith(CAP_NS_PREFIX):
            if not any(a in out for a in el.iterancestors()):
                out.append(el)
    return out
