"""Feed poller: conditional GET of each Atom feed, each entry's document fetched once, parsed, ingested.

Guarantees (lives depend on them):
* nothing is dropped silently: every entry ends as a ``feed_entries`` row (ok / error /
  retry / refused), a log event and a counter;
* nothing is lost on a crash or cancel: a feed's validators (ETag / Last-Modified) are
  stored only after every entry it listed was settled, so an interrupted poll sees the
  full feed again; an entry is stored as ``ok`` in the same transaction as its alerts;
* nothing is stored twice: entries are keyed by Atom id, alerts by (source, source_id).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import redis.asyncio as aioredis
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.events.outbox import relay_outbox
from alerts.feeds.atom import FeedItem, parse_feed
from alerts.feeds.budget import ByteBudget
from alerts.feeds.ingest import ingest_alerts
from alerts.feeds.metrics import FEED_BYTES, FEED_DOCUMENTS, FEED_ERRORS, FEED_LAG, FEED_POLLS
from alerts.feeds import repository as feeds_repo
from alerts.feeds.models import FeedState
from alerts.sources import parse_document
from alerts.sources.safexml import DocumentError, NotAnAlert
from server.settings import Settings

log = structlog.get_logger()

# First retry within seconds (JMA hiccups are short); never wait more than 10 minutes on a
# life-safety feed.
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 600.0
# A document that failed transiently this many times is given up on (recorded as error).
MAX_DOCUMENT_ATTEMPTS = 8
USER_AGENT = "bousai-feed-poller/0.1 (+https://github.com/bousai)"


class FetchError(Exception):
    """An HTTP fetch that failed. ``transient`` failures are retried; the others are not."""

    def __init__(self, reason: str, message: str, *, transient: bool, retry_after: float | None = None):
        super().__init__(message)
        self.reason = reason
        self.transient = transient
        self.retry_after = retry_after


def backoff_delay(consecutive_errors: int, *, retry_after: float | None = None, rng=random) -> float:
    """Capped exponential backoff with full jitter; a server's Retry-After is a floor."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, consecutive_errors - 1))
    delay = rng.uniform(0, ceiling)
    if retry_after is not None:
        delay = max(delay, min(retry_after, BACKOFF_CAP_SECONDS))
    return delay


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


async def fetch_capped(
    client: httpx.AsyncClient, url: str, *, max_bytes: int, headers: dict[str, str] | None = None,
    deadline: float | None = None,
) -> httpx.Response:
    """GET streamed and abandoned past ``max_bytes`` or, headers and body together, past
    ``deadline`` seconds (the client's timeout is per read: a peer sending a byte every few
    seconds never trips it); returns the response with ``.content`` read."""
    try:
        async with asyncio.timeout(deadline):
            return await _fetch(client, url, max_bytes=max_bytes, headers=headers)
    except TimeoutError as exc:
        raise FetchError("deadline", f"not fetched within {deadline} s", transient=True) from exc


async def _fetch(client: httpx.AsyncClient, url: str, *, max_bytes: int, headers: dict[str, str] | None) -> httpx.Response:
    try:
        async with client.stream("GET", url, headers=headers) as resp:
            if resp.status_code == 304:
                return resp
            if resp.status_code == 429 or resp.status_code >= 500:
                raise FetchError(f"http_{resp.status_code}", f"HTTP {resp.status_code}", transient=True,
                                 retry_after=_retry_after(resp))
            if resp.status_code == 404:
                # JMA links can 404 for a moment until the document propagates.
                raise FetchError("http_404", "HTTP 404", transient=True)
            if resp.status_code != 200:
                raise FetchError(f"http_{resp.status_code}", f"HTTP {resp.status_code}", transient=False)
            declared = resp.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchError("too_large", f"Content-Length {declared} over {max_bytes}", transient=False)
            chunks, total = [], 0
            async for chunk in resp.aiter_raw():
                total += len(chunk)
                if total > max_bytes:
                    raise FetchError("too_large", f"body over {max_bytes} bytes", transient=False)
                chunks.append(chunk)
            resp._content = b"".join(chunks)
            return resp
    except httpx.TimeoutException as exc:
        raise FetchError("timeout", f"timeout: {type(exc).__name__}", transient=True) from exc
    except httpx.TransportError as exc:
        raise FetchError("transport", f"{type(exc).__name__}: {exc}", transient=True) from exc


def _origin(url: str) -> tuple[str, int] | None:
    """(host, port) of an http(s) URL, the port defaulted by scheme; None for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # a port that is not a number or out of range
        return None
    return parts.hostname.lower(), port


@dataclass
class PollSummary:
    feeds_polled: int = 0
    not_modified: int = 0
    feeds_failed: int = 0
    feeds_backing_off: int = 0
    entries_seen: int = 0
    documents_fetched: int = 0
    documents_ok: int = 0
    documents_rejected: int = 0
    documents_retry: int = 0
    entries_refused: int = 0
    # Feeds whose poll of an earlier cycle is still running (not started again), and feeds
    # whose poll this cycle outlasted its wait (left to finish on their own).
    feeds_busy: int = 0
    feeds_overran: int = 0
    held_by_budget: int = 0
    alerts_created: int = 0
    bytes: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# Observer hook for benchmarks and tests: (event, entry_id, monotonic time, detail).
Observer = Callable[[str, str, float, dict[str, Any]], None]


class FeedPoller:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: aioredis.Redis,
        *,
        client: httpx.AsyncClient | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.redis = redis
        self.budget = ByteBudget(redis, settings.feed_daily_byte_budget)
        self._own_client = client is None
        feeds = max(1, len(self.feed_urls))
        self.client = client or httpx.AsyncClient(
            timeout=settings.feed_timeout_seconds,
            follow_redirects=False,  # a redirect could lead off-site; refuse rather than follow
            headers={"User-Agent": USER_AGENT},
            # Every feed's own slots plus its feed request: one feed's stuck fetches can never
            # take the connections another feed needs.
            limits=httpx.Limits(max_connections=(settings.feed_fetch_concurrency + 1) * feeds),
        )
        self.observer = observer
        # Document fetches are bounded per feed, so one feed's slow documents hold only its own slots.
        self._fetch_slots: dict[str, asyncio.Semaphore] = {}
        # Each feed is polled by a task of its own; a feed still being read when the next cycle
        # comes is left to finish (not started twice) while the others are polled.
        self._feed_tasks: dict[str, asyncio.Task] = {}

    async def aclose(self) -> None:
        running = [t for t in self._feed_tasks.values() if not t.done()]
        for t in running:
            t.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        if self._own_client:
            await self.client.aclose()

    @property
    def cycle_wait_seconds(self) -> float:
        """How long one cycle waits for its feeds: half the poll interval, so the scheduler's
        next tick always finds the cycle over (its job runs one instance at a time)."""
        return self.settings.feed_poll_seconds / 2

    @property
    def feed_urls(self) -> list[str]:
        return [*self.settings.jma_feeds, *self.settings.cap_feeds]

    def _observe(self, event: str, entry_id: str, **detail: Any) -> None:
        if self.observer is not None:
            self.observer(event, entry_id, time.monotonic(), detail)

    async def poll_once(self, *, wait: float | None = None) -> PollSummary:
        """One cycle over every configured feed: each feed in a task of its own, each feed's
        documents bounded by its own slots, every fetch under a deadline. Returns once every
        feed is done or after ``wait`` seconds (default :attr:`cycle_wait_seconds`): a slow
        feed is left to finish in the background and skipped by the cycles that come while it
        runs, so it never holds the others."""
        summary = PollSummary()
        started: dict[str, asyncio.Task] = {}
        for url in self.feed_urls:
            running = self._feed_tasks.get(url)
            if running is not None and not running.done():
                summary.feeds_busy += 1
                FEED_POLLS.labels("busy").inc()
                log.warning("alerts.feed.still_polling", feed=url)
                continue
            started[url] = self._feed_tasks[url] = asyncio.create_task(self.poll_feed(url, summary))
        if not started:
            return summary
        try:
            await asyncio.wait(started.values(), timeout=self.cycle_wait_seconds if wait is None else wait)
        except asyncio.CancelledError:
            for task in started.values():
                task.cancel()
            await asyncio.gather(*started.values(), return_exceptions=True)
            raise
        for url, task in started.items():
            if not task.done():
                summary.feeds_overran += 1
                log.warning("alerts.feed.poll_overran", feed=url)
                task.add_done_callback(lambda t, url=url: self._poll_ended(url, t, summary))
            else:
                self._poll_ended(url, task, summary)
        return summary

    def _poll_ended(self, url: str, task: asyncio.Task, summary: PollSummary) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            # One feed's unexpected failure (e.g. database down) must not hide the others'.
            FEED_ERRORS.labels("poll_crashed").inc()
            summary.feeds_failed += 1
            summary.errors.append(f"{url}: {type(exc).__name__}")
            log.error("alerts.feed.poll_crashed", feed=url, error=repr(exc)[:300])

    # --- feed level ----------------------------------------------------------------
    async def _load_state(self, url: str) -> FeedState | None:
        async with self.sessionmaker() as s:
            return await s.get(FeedState, url)

    async def _save_state(self, url: str, **values: Any) -> None:
        async with self.sessionmaker() as s, s.begin():
            await feeds_repo.save_state(s, url, **values)

    async def poll_feed(self, url: str, summary: PollSummary | None = None) -> PollSummary:
        summary = summary or PollSummary()
        now = datetime.now(UTC)
        state = await self._load_state(url)
        if state and state.next_attempt_at and state.next_attempt_at > now:
            summary.feeds_backing_off += 1
            FEED_POLLS.labels("backoff").inc()
            return summary
        headers = {}
        if state and state.etag:
            headers["If-None-Match"] = state.etag
        if state and state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        summary.feeds_polled += 1
        try:
            resp = await fetch_capped(self.client, url, max_bytes=self.settings.xml_max_bytes, headers=headers,
                                      deadline=self.settings.feed_fetch_deadline_seconds)
            if resp.status_code == 304:
                summary.not_modified += 1
                FEED_POLLS.labels("not_modified").inc()
                await self._save_state(url, last_status=304, last_polled_at=now, last_success_at=now,
                                       consecutive_errors=0, next_attempt_at=None, last_error=None)
                return summary
            body = resp.content
            FEED_BYTES.labels("feed").inc(len(body))
            summary.bytes += len(body)
            await self.budget.add(len(body))
            items = parse_feed(body, max_bytes=self.settings.xml_max_bytes)
        except (FetchError, DocumentError) as exc:
            reason = exc.reason if isinstance(exc, FetchError) else f"feed_{exc.code}"
            errors = (state.consecutive_errors if state else 0) + 1
            delay = backoff_delay(errors, retry_after=getattr(exc, "retry_after", None))
            FEED_ERRORS.labels(reason).inc()
            FEED_POLLS.labels("error").inc()
            summary.feeds_failed += 1
            summary.errors.append(f"{url}: {reason}")
            log.warning("alerts.feed.poll_failed", feed=url, reason=reason, error=str(exc)[:300],
                        consecutive_errors=errors, retry_in_s=round(delay, 1))
            await self._save_state(url, last_status=None, last_polled_at=now, consecutive_errors=errors,
                                   next_attempt_at=now + timedelta(seconds=delay), last_error=f"{reason}: {exc}"[:1000])
            return summary
        fetched_at = time.monotonic()
        for item in items:
            self._observe("feed_seen", item.entry_id, feed=url, at=fetched_at)
        summary.entries_seen += len(items)
        settled = await self._handle_entries(url, items, summary)
        FEED_POLLS.labels("ok").inc()
        # Validators only once every listed entry is settled: otherwise the next poll would
        # get 304 and never see the entries still pending.
        values: dict[str, Any] = dict(last_status=200, last_polled_at=now, last_success_at=now,
                                      consecutive_errors=0, next_attempt_at=None, last_error=None)
        if settled:
            values.update(etag=resp.headers.get("etag"), last_modified=resp.headers.get("last-modified"))
        else:
            values.update(etag=None, last_modified=None)
        await self._save_state(url, **values)
        return summary

    # --- entry level ---------------------------------------------------------------
    def _allowed_link(self, feed_url: str, link: str | None) -> bool:
        if not link:
            return False
        origin = _origin(link)
        if origin is None:
            return False
        # The feed's own origin (host and port), or an allowed host on its scheme's default port
        # ("host:port" allows that port): a link to another port of an allowed host is off-site.
        allowed = {_origin(feed_url)}
        for entry in self.settings.feed_allowed_hosts:
            host, _, port = entry.lower().partition(":")
            allowed |= {(host, int(port))} if port.isdigit() else {(host, 80), (host, 443)}
        return origin in allowed

    async def _handle_entries(self, feed_url: str, items: list[FeedItem], summary: PollSummary) -> bool:
        """Fetch and ingest the entries not yet settled. True when none is left pending."""
        if not items:
            return True
        async with self.sessionmaker() as s:
            known = await feeds_repo.entries_known(s, [i.entry_id for i in items])
        todo: list[FeedItem] = []
        for item in items:
            row = known.get(item.entry_id)
            if row is not None and row.status != "retry":
                continue
            if not self._allowed_link(feed_url, item.link):
                await self._refuse(feed_url, item, summary)
                continue
            todo.append(item)
        slots = self._fetch_slots.setdefault(feed_url, asyncio.Semaphore(self.settings.feed_fetch_concurrency))
        results = await asyncio.gather(*(self._entry_slot(slots, feed_url, item, summary) for item in todo),
                                       return_exceptions=True)
        settled = True
        for item, result in zip(todo, results, strict=True):
            if isinstance(result, asyncio.CancelledError):
                raise result
            if isinstance(result, BaseException):
                # Not recorded: the entry is seen again next poll (validators are not kept).
                FEED_ERRORS.labels("entry_crashed").inc()
                summary.documents_retry += 1
                log.error("alerts.feed.entry_crashed", entry_id=item.entry_id, error=repr(result)[:300])
                settled = False
            elif not result:
                settled = False
        return settled

    async def _refuse(self, feed_url: str, item: FeedItem, summary: PollSummary) -> None:
        summary.entries_refused += 1
        FEED_ERRORS.labels("off_site_link").inc()
        FEED_DOCUMENTS.labels("refused").inc()
        log.warning("alerts.feed.link_refused", feed=feed_url, entry_id=item.entry_id, link=(item.link or "")[:300])
        await self._record(feed_url, item, status="refused", error=f"link not on an allowed host: {item.link!r}"[:1000])

    async def _entry_slot(self, slots: asyncio.Semaphore, feed_url: str, item: FeedItem, summary: PollSummary) -> bool:
        async with slots:
            return await self._process_entry(feed_url, item, summary)

    async def _record(self, feed_url: str, item: FeedItem, *, status: str, error: str | None = None,
                      size: int | None = None, alert_count: int = 0, session: AsyncSession | None = None) -> None:
        values = dict(entry_id=item.entry_id, link=item.link or "", feed_url=feed_url, entry_updated=item.updated,
                      status=status, error=error, size_bytes=size, alert_count=alert_count,
                      fetched_at=datetime.now(UTC) if size is not None else None)
        if session is not None:
            await feeds_repo.record_entry(session, values)
            return
        async with self.sessionmaker() as s, s.begin():
            await feeds_repo.record_entry(s, values)

    async def _transient(self, feed_url: str, item: FeedItem, summary: PollSummary, reason: str, message: str) -> bool:
        async with self.sessionmaker() as s:
            attempts = await feeds_repo.entry_attempts(s, item.entry_id)
        FEED_ERRORS.labels(reason).inc()
        if attempts is not None and attempts + 1 >= MAX_DOCUMENT_ATTEMPTS:
            summary.documents_rejected += 1
            FEED_DOCUMENTS.labels("gave_up").inc()
            log.error("alerts.feed.document_gave_up", entry_id=item.entry_id, reason=reason, attempts=attempts + 1)
            await self._record(feed_url, item, status="error", error=f"gave up after {attempts + 1} attempts: {message}")
            return True
        summary.documents_retry += 1
        FEED_DOCUMENTS.labels("retry").inc()
        log.warning("alerts.feed.document_retry", entry_id=item.entry_id, reason=reason, error=message[:300])
        await self._record(feed_url, item, status="retry", error=message[:1000])
        return False

    async def _process_entry(self, feed_url: str, item: FeedItem, summary: PollSummary) -> bool:
        if not await self.budget.allow():
            summary.held_by_budget += 1
            return False
        try:
            resp = await fetch_capped(self.client, item.link, max_bytes=self.settings.xml_max_bytes,
                                      deadline=self.settings.feed_fetch_deadline_seconds)
        except FetchError as exc:
            if exc.transient:
                return await self._transient(feed_url, item, summary, exc.reason, str(exc))
            return await self._reject(feed_url, item, summary, exc.reason, str(exc), size=None)
        data = resp.content
        summary.documents_fetched += 1
        summary.bytes += len(data)
        FEED_BYTES.labels("document").inc(len(data))
        await self.budget.add(len(data))
        try:
            alerts = parse_document(data, file=item.link)
        except NotAnAlert as exc:
            alerts = []
            log.info("alerts.feed.document_not_alert", entry_id=item.entry_id, reason=exc.code)
        except DocumentError as exc:
            return await self._reject(feed_url, item, summary, exc.code, str(exc), size=len(data))
        except Exception as exc:  # a parser bug must not stop the other documents
            log.exception("alerts.feed.parser_crashed", entry_id=item.entry_id)
            return await self._reject(feed_url, item, summary, "parser_crash", repr(exc), size=len(data))
        return await self._store(feed_url, item, summary, alerts, size=len(data))

    async def _reject(self, feed_url: str, item: FeedItem, summary: PollSummary, reason: str, message: str,
                      *, size: int | None) -> bool:
        summary.documents_rejected += 1
        FEED_ERRORS.labels(reason).inc()
        FEED_DOCUMENTS.labels("rejected").inc()
        log.warning("alerts.feed.document_rejected", feed=feed_url, entry_id=item.entry_id, reason=reason,
                    error=message[:300])
        await self._record(feed_url, item, status="error", error=f"{reason}: {message}"[:1000], size=size)
        return True

    async def _store(self, feed_url: str, item: FeedItem, summary: PollSummary, alerts: list, *, size: int) -> bool:
        try:
            async with self.sessionmaker() as s, s.begin():
                # The ingest every JMA source shares (the real-time socket's too).
                stored = await ingest_alerts(s, alerts)
                created, invalid = stored.created, stored.invalid
                status = "error" if alerts and len(invalid) == len(alerts) else "ok"
                await self._record(feed_url, item, status=status, size=size, alert_count=len(alerts) - len(invalid),
                                   error="; ".join(invalid)[:1000] or None, session=s)
        except Exception as exc:  # database trouble: nothing committed, try the entry again next cycle
            log.exception("alerts.feed.store_failed", entry_id=item.entry_id)
            return await self._transient(feed_url, item, summary, "store_failed", repr(exc))
        stored_at = time.monotonic()
        if invalid:
            FEED_ERRORS.labels("invalid_alert").inc(len(invalid))
            log.warning("alerts.feed.document_rejected", entry_id=item.entry_id, reason="invalid_alert",
                        error="; ".join(invalid)[:300])
        if alerts and len(invalid) == len(alerts):
            summary.documents_rejected += 1
            FEED_DOCUMENTS.labels("rejected").inc()
            return True
        summary.documents_ok += 1
        summary.alerts_created += len(created)
        FEED_DOCUMENTS.labels("ingested" if alerts else "not_alert").inc()
        if created and item.updated is not None:
            FEED_LAG.observe(max(0.0, (datetime.now(UTC) - item.updated).total_seconds()))
        if created:
            await relay_outbox(self.sessionmaker, self.redis)
        self._observe("stored", item.entry_id, alert_ids=created, stored_at=stored_at)
        log.info("alerts.feed.document_ingested", entry_id=item.entry_id, alerts=len(alerts), created=len(created))
        return True
