"""Atom in and out: read a JMA/CAP Atom feed safely, write JMA-style Atom for the local server.

Feed bytes are XML from the network: they pass ``alerts.sources.safexml.parse_xml`` (no
DTD, size and depth caps) before feedparser sees them, and feedparser only ever gets
bytes (a str that looks like a URL would make it fetch).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

import feedparser

from alerts.sources.safexml import DocumentError, MalformedDocument, parse_xml


class FeedError(DocumentError):
    code = "feed_malformed"


@dataclass(frozen=True)
class FeedItem:
    entry_id: str
    link: str | None
    updated: datetime | None
    title: str | None


def _entry_link(entry) -> str | None:
    for link in entry.get("links") or []:
        if link.get("rel", "alternate") in ("alternate", "enclosure", "related") and link.get("href"):
            return link["href"]
    return entry.get("link") or None


def _entry_time(entry) -> datetime | None:
    parsed = entry.get("updated_parsed") or entry.get("published_parsed")
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)


def parse_feed(data: bytes, *, max_bytes: int) -> list[FeedItem]:
    """Entries of an Atom feed, oldest first. Raises ``DocumentError`` for unusable bytes."""
    root = parse_xml(data, max_bytes=max_bytes)
    if not root.tag.endswith("}feed"):
        raise FeedError(message=f"not an Atom feed: root {root.tag[:80]}")
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    if parsed.get("bozo") and not parsed.entries:
        raise MalformedDocument(message=f"feed not parseable: {str(parsed.get('bozo_exception'))[:200]}")
    items = []
    for entry in parsed.entries:
        link = _entry_link(entry)
        entry_id = entry.get("id") or link
        if not entry_id:
            continue
        items.append(FeedItem(entry_id=entry_id, link=link, updated=_entry_time(entry), title=entry.get("title")))
    items.sort(key=lambda i: i.updated or datetime.min.replace(tzinfo=UTC))
    return items


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class AtomEntry:
    entry_id: str
    title: str
    updated: datetime
    author: str
    link: str
    content: str


def render_feed(*, title: str, feed_url: str, updated: datetime, entries: list[AtomEntry]) -> bytes:
    """JMA-style Atom: newest entry first, link to the document, short text content."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n',
        '<feed xmlns="http://www.w3.org/2005/Atom" lang="ja">\n',
        f"  <title>{escape(title)}</title>\n",
        "  <subtitle>JMAXML publishing feed</subtitle>\n",
        f"  <updated>{iso(updated)}</updated>\n",
        f"  <id>{escape(feed_url)}#{int(updated.timestamp())}</id>\n",
        f"  <link rel=\"self\" href={quoteattr(feed_url)}/>\n",
    ]
    for e in sorted(entries, key=lambda e: e.updated, reverse=True):
        parts.append(
            "  <entry>\n"
            f"    <title>{escape(e.title)}</title>\n"
            f"    <id>{escape(e.entry_id)}</id>\n"
            f"    <updated>{iso(e.updated)}</updated>\n"
            f"    <author><name>{escape(e.author)}</name></author>\n"
            f"    <link type=\"application/xml\" href={quoteattr(e.link)}/>\n"
            f"    <content type=\"text\">{escape(e.content)}</content>\n"
            "  </entry>\n"
        )
    parts.append("</feed>\n")
    return "".join(parts).encode("utf-8")
