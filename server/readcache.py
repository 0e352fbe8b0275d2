"""In-process caches of public reads that are the same for everyone, invalidated through Redis.

A public read (an alert's detail, the shelters near a point) costs a pool checkout, a
transaction and an ORM round trip — ~1.5 ms of the api process's CPU — for an answer that
is identical for every caller until the rows behind it change. Each api process keeps such
answers in memory, tagged with the *generation* of their namespace (``"alerts"``,
``"shelters"``) that was current before the rows were read.

Correctness (a change is seen by the next request that starts after the writer committed):

* every write that changes what a namespace shows marks its session
  (:func:`touch`); once that transaction has **committed**, the namespace's generation in
  Redis is bumped (one ``INCR``), from whichever process wrote (api, worker, CLI);
* a reader asks Redis for the generation first (one ``GET``), then serves an entry only if
  it was stored under that very generation; otherwise it reads the database and stores
  the answer under the generation it read *before* the database. A reader racing a writer
  can therefore store an answer older than the commit, but only under the old generation,
  which the writer's bump (after its commit) makes unusable.
* a generation missing from Redis (flushed, first start) is set to a random value, never
  counted up from 0 again: entries stored before a flush can never match afterwards.
* Redis not answering: the read goes to the database (no cache), the write only logs.

Writes that bypass the Python code (a trigger, psql) are caught by :data:`MAX_AGE_SECONDS`:
no entry is served older than that.
"""

from __future__ import annotations

import asyncio
import random
import time
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import redis
import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session

log = structlog.get_logger()

KEY_PREFIX = "readcache:gen:"
# A generation read that has not answered in this long: the request reads the database.
REDIS_DEADLINE_SECONDS = 0.25
# Backstop for writes that do not go through touch() (a database trigger, psql by hand):
# no cached answer is served older than this. (A module constant: settings.py is not ours.)
MAX_AGE_SECONDS = 30.0
_SESSION_KEY = "bousai_readcache_touched"

_override_url: str | None = None
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = weakref.WeakKeyDictionary()
_sync_client: redis.Redis | None = None
_sync_url: str | None = None


def configure(redis_url: str | None) -> None:
    """Use this Redis (tests); None: ``BOUSAI_REDIS_URL`` via the settings, as every process."""
    global _override_url, _sync_client, _sync_url
    _override_url = redis_url
    _async_clients.clear()
    _sync_client, _sync_url = None, None
    for c in _CACHES:
        c.clear()


def _url() -> str:
    if _override_url is not None:
        return _override_url
    from server.settings import get_settings

    return get_settings().redis_url


def _async_redis() -> aioredis.Redis:
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = aioredis.from_url(_url(), decode_responses=False, health_check_interval=30)
        _async_clients[loop] = client
    return client


async def _read_generation(namespace: str) -> int | None:
    key = KEY_PREFIX + namespace
    try:
        async with asyncio.timeout(REDIS_DEADLINE_SECONDS):
            r = _async_redis()
            value = await r.get(key)
            if value is None:
                await r.set(key, random.getrandbits(62), nx=True)
                value = await r.get(key)
        return int(value) if value is not None else None
    except (RedisError, OSError, TimeoutError, ValueError):
        return None


# Per event loop and namespace: the generation read that has not been sent yet. Requests
# arriving before it is sent share it (one GET for a crowd, not one each); a request arriving
# after it was sent waits for the next one, so every answer was read after its request began.
_unsent: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Future]] = weakref.WeakKeyDictionary()


async def _fetch(namespace: str, pending: dict[str, asyncio.Future], fut: asyncio.Future) -> None:
    if pending.get(namespace) is fut:
        del pending[namespace]  # sent from here on: later arrivals start the next read
    try:
        value = await _read_generation(namespace)
    except Exception:  # whatever broke, the waiting requests read the database
        value = None
    if not fut.done():
        fut.set_result(value)


async def generation(namespace: str) -> int | None:
    """The namespace's generation, read from Redis after this call began; None when Redis
    does not answer (then: no cache)."""
    loop = asyncio.get_running_loop()
    pending = _unsent.get(loop)
    if pending is None:
        pending = _unsent[loop] = {}
    fut = pending.get(namespace)
    if fut is None:
        fut = pending[namespace] = loop.create_future()
        task = loop.create_task(_fetch(namespace, pending, fut))
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)
    # A caller cancelled (client gone) must not cancel the read the others wait for.
    return await asyncio.shield(fut)


_tasks: set[asyncio.Task] = set()


def bump(*namespaces: str) -> None:
    """Make every cached answer of these namespaces unusable, in every process."""
    global _sync_client, _sync_url
    url = _url()
    try:
        if _sync_client is None or _sync_url != url:
            _sync_client, _sync_url = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0), url
        pipe = _sync_client.pipeline(transaction=False)
        for ns in namespaces:
            pipe.set(KEY_PREFIX + ns, random.getrandbits(62), nx=True)
            pipe.incr(KEY_PREFIX + ns)
        pipe.execute()
    except (RedisError, OSError) as exc:
        log.warning("server.readcache.bump_failed", namespaces=namespaces, error=type(exc).__name__,
                    policy=f"cached answers are served up to {MAX_AGE_SECONDS:.0f} s old")
    for c in _CACHES:
        if c.namespace in namespaces:
            c.clear()  # this process need not wait for the next read to drop them


def touch(session: Any, *namespaces: str) -> None:
    """This session's transaction changes what ``namespaces`` show: bump them once it commits."""
    info = session.info
    info.setdefault(_SESSION_KEY, set()).update(namespaces)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    touched = session.info.pop(_SESSION_KEY, None)
    if touched:
        bump(*sorted(touched))


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    # Nothing was written. (A savepoint's rollback is not this event: its outer transaction
    # may still commit other writes, and a spare bump only costs a cache miss.)
    session.info.pop(_SESSION_KEY, None)


_CACHES: weakref.WeakSet[ReadCache] = weakref.WeakSet()


class ReadCache:
    """A bounded LRU of answers of one namespace: ``get`` with the generation read first,
    ``put`` under that same generation."""

    def __init__(self, namespace: str, max_entries: int) -> None:
        self.namespace = namespace
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[int, float, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0
        _CACHES.add(self)

    def get(self, key: Hashable, gen: int | None) -> Any | None:
        if gen is None:
            return None
        found = self._entries.get(key)
        if found is None or found[0] != gen or time.monotonic() - found[1] > MAX_AGE_SECONDS:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return found[2]

    def put(self, key: Hashable, gen: int | None, value: Any) -> None:
        if gen is None:
            return
        self._entries[key] = (gen, time.monotonic(), value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


def touched(session: Any, namespace: str) -> bool:
    """Whether this session's open transaction has written what ``namespace`` shows."""
    return namespace in session.info.get(_SESSION_KEY, ())
