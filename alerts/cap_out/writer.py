"""CAP 1.2 documents for what staff publish: evacuation information and shelter openings.

Follows the bousai CAP profile (``alerts/sources/CAP_PROFILE.md``): JIS X 0402 geocodes,
``bousai:evacuation-level`` / ``bousai:shelter-status`` event codes, references
``sender,identifier,sent``. Our own parser reads these documents back unchanged, and the
tests validate them against the OASIS schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from lxml import etree

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
JST = timezone(timedelta(hours=9), "JST")
# CAP <circle> radius for a shelter: it marks the facility, not an area.
SHELTER_CIRCLE_KM = 0.1


def cap_time(dt: datetime) -> str:
    """CAP dateTime: seconds, explicit offset (the schema refuses 'Z' and fractions)."""
    return dt.astimezone(JST).replace(microsecond=0).isoformat()


@dataclass
class CapArea:
    area_desc: str
    polygons: list[list[tuple[float, float]]] = field(default_factory=list)  # rings of (lon, lat)
    circles: list[tuple[float, float, float]] = field(default_factory=list)  # (lat, lon, radius km)
    geocodes: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class CapInfo:
    language: str
    categories: list[str]
    event: str
    urgency: str
    severity: str
    certainty: str
    response_types: list[str] = field(default_factory=list)
    event_codes: list[tuple[str, str]] = field(default_factory=list)
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    parameters: list[tuple[str, str]] = field(default_factory=list)
    areas: list[CapArea] = field(default_factory=list)


@dataclass
class CapAlert:
    identifier: str
    sender: str
    sent: str
    status: str  # Actual | Exercise
    msg_type: str  # Alert | Update | Cancel
    scope: str = "Public"
    note: str | None = None
    references: list[str] = field(default_factory=list)  # "sender,identifier,sent"
    infos: list[CapInfo] = field(default_factory=list)


def _sub(parent, name: str, value: str | None):
    if value is None:
        return None
    el = etree.SubElement(parent, f"{{{CAP_NS}}}{name}")
    el.text = value
    return el


def _pair(parent, name: str, key: str, value: str) -> None:
    el = etree.SubElement(parent, f"{{{CAP_NS}}}{name}")
    _sub(el, "valueName", key)
    _sub(el, "value", value)


def ring_text(ring: list[tuple[float, float]]) -> str:
    """CAP polygon: 'lat,lon' pairs, closed (first = last), at least 4 pairs."""
    pts = list(ring)
    if pts[0] != pts[-1]:
        pts.append(pts[0])
    return " ".join(f"{lat:.6f},{lon:.6f}" for lon, lat in pts)


def to_element(alert: CapAlert) -> etree._Element:
    root = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
    _sub(root, "identifier", alert.identifier)
    _sub(root, "sender", alert.sender)
    _sub(root, "sent", alert.sent)
    _sub(root, "status", alert.status)
    _sub(root, "msgType", alert.msg_type)
    _sub(root, "scope", alert.scope)
    _sub(root, "note", alert.note)
    if alert.references:
        _sub(root, "references", " ".join(alert.references))
    for info in alert.infos:
        i = etree.SubElement(root, f"{{{CAP_NS}}}info")
        _sub(i, "language", info.language)
        for c in info.categories:
            _sub(i, "category", c)
        _sub(i, "event", info.event)
        for r in info.response_types:
            _sub(i, "responseType", r)
        _sub(i, "urgency", info.urgency)
        _sub(i, "severity", info.severity)
        _sub(i, "certainty", info.certainty)
        for k, v in info.event_codes:
            _pair(i, "eventCode", k, v)
        _sub(i, "senderName", info.sender_name)
        _sub(i, "headline", info.headline)
        _sub(i, "description", info.description)
        _sub(i, "instruction", info.instruction)
        _sub(i, "web", info.web)
        for k, v in info.parameters:
            _pair(i, "parameter", k, v)
        for area in info.areas:
            a = etree.SubElement(i, f"{{{CAP_NS}}}area")
            _sub(a, "areaDesc", area.area_desc)
            for ring in area.polygons:
                _sub(a, "polygon", ring_text(ring))
            for lat, lon, r in area.circles:
                _sub(a, "circle", f"{lat:.6f},{lon:.6f} {r:g}")
            for k, v in area.geocodes:
                _pair(a, "geocode", k, v)
    return root


def to_xml(alert: CapAlert) -> str:
    return etree.tostring(to_element(alert), xml_declaration=True, encoding="UTF-8", pretty_print=True).decode("utf-8")


def reference(sender: str, identifier: str, sent: str) -> str:
    return f"{sender},{identifier},{sent}"


def multipolygon_rings(geojson: dict | None) -> list[list[tuple[float, float]]]:
    """Exterior rings of a GeoJSON (Multi)Polygon; CAP polygons have no holes."""
    if not geojson:
        return []
    coords = geojson["coordinates"]
    polys = coords if geojson["type"] == "MultiPolygon" else [coords]
    return [[(float(x), float(y)) for x, y, *_ in poly[0]] for poly in polys]
