"""CAP 1.2 / 1.1 / 1.0 alerts (and CAP embedded in Atom or an EDXL-DE envelope) →
normalized alerts.

CAP 1.0 differs from 1.1/1.2 where it matters here: ``<eventCode>``, ``<parameter>`` and
``<geocode>`` are text ``valueName=value`` instead of child elements, and a
``<references>`` entry may be a bare identifier. Both spellings are read everywhere.

EDXL-DE (``EDXLDistribution/contentObject/xmlContent/embeddedXMLContent/alert``, the
envelope L-Alert-style distribution is derived from): every embedded CAP alert is parsed;
one that cannot be used is skipped and named in the others' ``parse_warnings`` (the
document fails only when none is usable). An envelope whose ``distributionStatus`` is not
``Actual`` makes every alert in it a drill.

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

import logging
from datetime import datetime
from typing import Any

from lxml import etree

from . import cap_profile as jp
from .geometry import ShapeError, cap_polygon_to_ring, circle_to_ring, multipolygon, parse_cap_circle
from .normalized import SEVERITY_RANK, NormalizedAlert
from .safexml import CAP_NS_PREFIX, DocumentError, NotAnAlert

MSG_TYPES = {"alert": "alert", "update": "update", "cancel": "cancel"}
EDXL_DE_NS_PREFIX = "urn:oasis:names:tc:emergency:edxl:de:"  # compared lower-cased (1.0 spells EDXL:DE)

log = logging.getLogger(__name__)


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
        elif p.find("{*}valueName") is None and p.text and "=" in p.text:
            k, _, v = p.text.strip().partition("=")  # CAP 1.0: <eventCode>SAME=RMT</eventCode>
            if k.strip():
                out.append((k.strip(), v.strip()))
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
    """``sender,identifier,sent`` triples, space separated (CAP 1.0 also allows a bare
    identifier: sender and sent are then None)."""
    out = []
    for tok in (text or "").split():
        parts = tok.split(",")
        if len(parts) >= 2:
            out.append({"sender": parts[0], "identifier": parts[1], "sent": ",".join(parts[2:]) or None})
        elif parts[0]:
            out.append({"sender": None, "identifier": parts[0], "sent": None})
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
    category = jp.category_for(event, cap_categories, event_codes, headline) if chosen is not None else "other"
    severity = _severity(_t(chosen, "severity")) if chosen is not None else "Unknown"

    level = None
    shelters = None
    if category == "evacuation":
        level = jp.evacuation_level(event_codes, headline, event, _t(chosen, "description"), warnings)
        if level is not None:
            severity = jp.EVACUATION_SEVERITY[level]
        else:
            warnings.append("evacuation message without a level (no eventCode, no level words)")
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
    same_test = jp.is_same_test(event_codes)
    if same_test:
        # An IPAWS/EAS required test is never a real alert, even when sent as Actual.
        alert.is_drill = True
        alert.parse_warnings.append(f"SAME event code {same_test} is a test; is_drill")
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


def _is_edxl(el: etree._Element) -> bool:
    q = etree.QName(el)
    return q.localname == "EDXLDistribution" and (q.namespace or "").lower().startswith(EDXL_DE_NS_PREFIX)


def parse_edxl(root: etree._Element, file: str | None = None) -> list[NormalizedAlert]:
    """Every CAP alert in an EDXL-DE envelope; a bad one is skipped, not fatal."""
    if not _is_edxl(root):
        raise DocumentError("unsupported_document", "not an EDXL-DE distribution")
    dist_status = _t(root, "distributionStatus")
    embedded: list[etree._Element] = []
    others = 0
    for obj in root.iter("{*}contentObject"):
        for holder in obj.findall("{*}xmlContent/{*}embeddedXMLContent"):
            for el in holder:
                if not isinstance(el.tag, str):
                    continue
                q = etree.QName(el)
                if q.localname == "alert" and (q.namespace or "").startswith(CAP_NS_PREFIX):
                    embedded.append(el)
                else:
                    others += 1
    if not embedded:
        raise NotAnAlert(message=f"EDXL-DE: no embedded CAP alert ({others} other embedded documents)")
    out: list[NormalizedAlert] = []
    skipped: list[str] = []
    for n, el in enumerate(embedded, 1):
        try:
            out.append(parse_alert(el, file))
        except NotAnAlert:
            continue  # an Ack is not an alert; the others still count
        except DocumentError as exc:
            log.warning("EDXL-DE %s: embedded CAP alert %d skipped: %s", file, n, exc.message)
            skipped.append(f"EDXL-DE: embedded CAP alert {n} of {len(embedded)} skipped: {exc.code}: {exc.message}")
    if not out:
        if skipped:
            raise DocumentError("malformed_cap", "; ".join(skipped)[:400])
        raise NotAnAlert(message=f"EDXL-DE: {len(embedded)} embedded CAP messages, none is an alert")
    for a in out:
        a.parse_warnings.extend(skipped)
        if others:
            a.parse_warnings.append(f"EDXL-DE: {others} embedded non-CAP documents ignored")
        if dist_status and dist_status != "Actual":
            a.is_drill = True
            a.parse_warnings.append(f"EDXL-DE distributionStatus {dist_status[:20]}; is_drill")
    return out
