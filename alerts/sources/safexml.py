"""Hostile-input-safe XML entry point for every feed document.

Feed documents come from the network (JMA, municipal CAP servers, anything a staff
member configures), so the parser assumes the bytes are hostile:

* **No DTD, ever.** A DOCTYPE is the only place entities (billion laughs, external
  ``file://`` / ``http://`` entities) can be declared, and neither JMA XML nor CAP
  uses one. We refuse any DOCTYPE in the prolog *before* lxml sees the document,
  and parse with ``resolve_entities=False, no_network=True, load_dtd=False`` as a
  second line of defence. (``defusedxml.lxml`` is deprecated; hand-rolled lxml
  options plus the prolog check give the same guarantees with the faster parser.)
* **Bounded work.** A parse timeout is not practical in-process (lxml holds the GIL
  in C code and cannot be interrupted); instead the size cap bounds the bytes and the
  depth cap bounds the tree shape, which together bound time and memory.
  ``huge_tree=False`` keeps libxml2's own limits (256 levels, 10 MB text nodes).
* **Strict decoding.** UTF-8 by default; a declared Shift_JIS/EUC-JP document is
  decoded with the Windows (CP932) variant municipalities actually emit; invalid
  bytes are an error, never silently replaced — a mangled place name could misroute
  an alert.
* **Known roots only.** JMA ``Report``, CAP ``alert`` (1.0–1.2), an Atom ``feed`` or an
  EDXL-DE ``EDXLDistribution`` (1.0/2.0, CAP inside); anything else is
  ``unsupported_document``. The same checks apply to everything inside an envelope.
"""

from __future__ import annotations

import codecs
import io
import re
from typing import BinaryIO

from lxml import etree

# Largest real JMA document is ~1 MB (tsunami with many areas); 10 MB leaves room and
# blocks bombs. Mirrors server.settings.Settings.xml_max_bytes (default).
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# Deepest real JMA document (VPWW54 Property/…/Local/…) is ~12 levels, CAP ~6; 64
# leaves room for envelopes (Atom + CAP) and stops stack/recursion games early.
DEFAULT_MAX_DEPTH = 64

JMA_NS = "http://xml.kishou.go.jp/jmaxml1/"
CAP_NS_PREFIX = "urn:oasis:names:tc:emergency:cap:"
ATOM_NS = "http://www.w3.org/2005/Atom"
EDXL_DE_NS_PREFIX = "urn:oasis:names:tc:emergency:edxl:de:"  # compared lower-cased: 1.0 is EDXL:DE:1.0


class DocumentError(Exception):
    """A document we cannot use. ``code`` is stable (for logs/metrics), ``message`` is
    safe to print: it never echoes document content beyond short structural hints."""

    code = "document_error"

    def __init__(self, code: str | None = None, message: str = ""):
        if code:
            self.code = code
        self.message = message or self.code
        super().__init__(self.message)

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


class EmptyDocument(DocumentError):
    code = "empty_document"


class DocumentTooLarge(DocumentError):
    code = "too_large"


class ForbiddenDTD(DocumentError):
    code = "dtd_forbidden"


class DocumentTooDeep(DocumentError):
    code = "too_deep"


class MalformedDocument(DocumentError):
    code = "malformed_xml"


class BadEncoding(DocumentError):
    code = "bad_encoding"


class UnsupportedDocument(DocumentError):
    code = "unsupported_document"


class NotAnAlert(DocumentError):
    """Well-formed and understood, but carries no alert (CAP Ack/Error, Atom index)."""

    code = "not_an_alert"


_XML_DECL_RE = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']", re.S)
_XML_DECL_STR_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.S)

# Labels seen in the wild for Japanese legacy encodings. Municipal systems that say
# "Shift_JIS" almost always mean Windows-31J (CP932: ①, ㈱, NEC extensions).
_ENCODING_ALIASES = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "ms_kanji": "cp932",
    "cp932": "cp932",
    "euc-jp": "euc_jp",
    "euc_jp": "euc_jp",
    "iso-2022-jp": "iso2022_jp",
}


def read_capped(stream: BinaryIO, max_bytes: int = DEFAULT_MAX_BYTES, chunk: int = 1 << 16) -> bytes:
    """Read a stream but stop as soon as it exceeds ``max_bytes`` (never buffers more
    than ``max_bytes + chunk``): a 50 MB upload is refused after 10 MB, not after 50."""
    buf = io.BytesIO()
    total = 0
    while True:
        block = stream.read(chunk)
        if not block:
            break
        total += len(block)
        if total > max_bytes:
            raise DocumentTooLarge(message=f"document larger than {max_bytes} bytes")
        buf.write(block)
    return buf.getvalue()


def _sniff_encoding(data: bytes) -> tuple[str, int]:
    """Return (python codec, bytes of BOM to skip)."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if data.startswith(codecs.BOM_UTF32_LE) or data.startswith(codecs.BOM_UTF32_BE):
        return "utf-32", 0
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16", 0
    if data[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        return ("utf-16-le" if data[0:1] == b"<" else "utf-16-be"), 0
    m = _XML_DECL_RE.match(data[:200])
    if not m:
        return "utf-8", 0
    label = m.group(1).decode("ascii").lower()
    if label in ("utf-8", "utf8"):
        return "utf-8", 0
    name = _ENCODING_ALIASES.get(label, label)
    try:
        return codecs.lookup(name).name, 0
    except LookupError:
        raise BadEncoding(message=f"unknown encoding declared: {label[:40]}") from None


def _check_prolog(text: str) -> None:
    """Refuse a DOCTYPE. It can only appear in the prolog (before the root start tag),
    so scanning the prolog — not the whole text — avoids false alarms on a CAP
    description that quotes ``<!DOCTYPE html>`` inside CDATA."""
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t\r\n\ufeff":
            i += 1
        if text.startswith("<?", i):
            j = text.find("?>", i + 2)
            if j < 0:
                raise MalformedDocument(message="truncated XML: unterminated processing instruction")
            i = j + 2
        elif text.startswith("<!--", i):
            j = text.find("-->", i + 4)
            if j < 0:
                raise MalformedDocument(message="truncated XML: unterminated comment")
            i = j + 3
        elif text[i : i + 9].upper() == "<!DOCTYPE" or text.startswith("<!", i):
            raise ForbiddenDTD(message="DOCTYPE/DTD not allowed in feed documents (entity expansion and external entities are refused)")
        else:
            return


def _root_kind(root: etree._Element) -> str:
    q = etree.QName(root)
    ns, local = q.namespace or "", q.localname
    if ns == JMA_NS and local == "Report":
        return "jma"
    if ns.startswith(CAP_NS_PREFIX) and local == "alert":
        return "cap"
    if ns == ATOM_NS and local in ("feed", "entry"):
        return "atom"
    if local == "EDXLDistribution" and ns.lower().startswith(EDXL_DE_NS_PREFIX):
        return "edxl"
    raise UnsupportedDocument(
        message=f"unsupported document: root <{local[:40]}> in namespace {ns[:80] or '(none)'!r}; "
        "expected JMA Report, CAP alert, Atom feed or EDXL-DE distribution"
    )


def parse_xml(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> etree._Element:
    """Parse untrusted bytes into an lxml element, or raise a ``DocumentError``.

    The root must be a JMA Report, a CAP alert or an Atom feed/entry.
    """
    if data is None or len(data) == 0 or not data.strip():
        raise EmptyDocument(message="empty document")
    if len(data) > max_bytes:
        raise DocumentTooLarge(message=f"document is {len(data)} bytes, limit {max_bytes}")

    codec, skip = _sniff_encoding(data)
    try:
        text = data[skip:].decode(codec, errors="strict")
    except UnicodeDecodeError as exc:
        raise BadEncoding(message=f"invalid {codec} byte sequence at offset {exc.start}") from None
    _check_prolog(text)

    if codec == "utf-8":
        payload = data[skip:]
    else:
        # Re-encode to UTF-8 and drop the declaration that names the old encoding.
        payload = _XML_DECL_STR_RE.sub("", text, count=1).encode("utf-8")

    root = _parse_bounded(payload, max_depth)
    _root_kind(root)
    return root


def _parse_bounded(payload: bytes, max_depth: int) -> etree._Element:
    depth = 0
    root = None
    try:
        events = etree.iterparse(
            io.BytesIO(payload),
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            recover=False,
        )
        for event, el in events:
            if event == "start":
                depth += 1
                if depth > max_depth:
                    raise DocumentTooDeep(message=f"element nesting deeper than {max_depth}")
                if root is None:
                    root = el
            else:
                depth -= 1
    except etree.XMLSyntaxError as exc:
        msg = str(exc.msg if hasattr(exc, "msg") else exc)
        if "Excessive depth" in msg:
            raise DocumentTooDeep(message=f"element nesting deeper than {max_depth}") from None
        if "entity" in msg.lower() or "DOCTYPE" in msg:
            raise ForbiddenDTD(message="entities/DTD not allowed in feed documents") from None
        line = getattr(exc, "lineno", None)
        hint = "truncated XML" if ("end of data" in msg.lower() or "premature end" in msg.lower()
                                   or "not properly terminated" in msg.lower() or "EndTag" in msg) else "malformed XML"
        # Only libxml2's own diagnostic (it names constructs, not document text).
        raise MalformedDocument(message=f"{hint} (line {line}): {msg[:160]}") from None
    if root is None:
        raise EmptyDocument(message="no root element")
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:  # belt and braces
        raise ForbiddenDTD(message="DOCTYPE/DTD not allowed in feed documents")
    return root


def document_kind(root: etree._Element) -> str:
    """``jma`` | ``cap`` | ``atom`` | ``edxl`` for a root returned by :func:`parse_xml`."""
    return _root_kind(root)
