"""Feed parsers: JMA 防災情報XML and CAP 1.x documents → :class:`NormalizedAlert`.

Public entry point for the feed poller and ``bousai parse``::

    parse_document(data: bytes, file: str | None = None) -> list[NormalizedAlert]

raises :class:`DocumentError` (with a stable ``code``) for anything it cannot use.
Pure functions: no database, no network, no file access beyond the bytes given.
"""

from __future__ import annotations


from .cap import embedded_alerts, parse_alert, parse_edxl
from .jma import parse_report
from .normalized import NormalizedAlert, validate_alert_dict
from .safexml import (
    DEFAULT_MAX_BYTES,
    DocumentError,
    NotAnAlert,
    document_kind,
    parse_xml,
)

__all__ = [
    "DocumentError",
    "NormalizedAlert",
    "NotAnAlert",
    "parse_document",
    "parse_xml",
    "validate_alert_dict",
]


def parse_document(data: bytes, file: str | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[NormalizedAlert]:
    """Parse one feed document into normalized alerts (CAP-in-Atom may give several)."""
    root = parse_xml(data, max_bytes=max_bytes)
    kind = document_kind(root)
    if kind == "jma":
        return parse_report(root, file)
    if kind == "cap":
        return [parse_alert(root, file)]
    if kind == "edxl":
        return parse_edxl(root, file)
    # Atom: alerts embedded inline are parsed; an index of links is the poller's job.
    embedded = embedded_alerts(root)
    if not embedded:
        n = len(root.findall("{http://www.w3.org/2005/Atom}entry"))
        raise NotAnAlert(message=f"atom feed: {n} entries, no embedded alert (use the poller)")
    out: list[NormalizedAlert] = []
    for el in embedded:
        try:
            out.append(parse_alert(el, file))
        except NotAnAlert:
            continue  # an Ack inside a feed is not an alert; others still count
    if not out:
        raise NotAnAlert(message=f"atom feed: {len(embedded)} embedded CAP messages, none is an alert")
    return out


