"""Settings: one object per process, read from ``BOUSAI_*`` environment variables (and ``.env``).

:class:`Settings` holds the kit's own tunables; each domain keeps its part in a
:class:`Section` subclass beside its code (``BOUSAI_<DOMAIN>_*``), reached through the
process's one object: ``get_settings().section(ShelterSettings)`` (or the domain's
``get_…_settings()``, a :class:`SectionGetter`). Every default is named with its reason
beside it; no module reads ``os.environ`` for configuration.

Defaults are the local ones that just work with ``make run`` on a developer machine
(PostgreSQL and Redis on loopback, the log push provider, the local demo feed server).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import Field, PrivateAttr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FIXTURES_DIR = PROJECT_ROOT / "fixtures"
S = TypeVar("S", bound=BaseSettings)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BOUSAI_", env_file=".env", extra="ignore"
    )

    # --- engines -----------------------------------------------------------------
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/bousai"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Pool sized for 2 uvicorn workers x 20 on a small Postgres (max_connections 100).
    db_pool_size: int = 20
    db_max_overflow: int = 10
    # Connections each api process opens at start and keeps, in the raw pool (its floor) and
    # the ORM pool: the surge of app opens after a quake, often after a quiet night, finds
    # them open instead of opening a dozen while the host is busiest (measured: 0.5-3.6 s
    # each on a starved 2-core host, past the connect deadline below: 503s).
    db_pool_warm_connections: int = 8
    # Every wait on the database has a deadline, so an outage is a 503, never a hang:
    # Postgres on the local network connects in milliseconds; 2 s means it is not answering.
    db_connect_timeout_seconds: float = 2.0
    # A request waits this long for a pooled connection before answering 503 (all 30 busy for
    # 5 s is an overload, and clients retry after Retry-After).
    db_pool_timeout_seconds: float = 5.0
    # The api's statements (client side and server side): the slowest route statement (a
    # report over the prefecture) takes well under a second; 10 s means the database is stuck,
    # and the route answers 503 before a client or proxy gives up (30 s). Workers, the
    # scheduler and the CLI keep no statement limit (bulk loads and 1M-place fan-outs).
    db_statement_timeout_seconds: float = 10.0
    # Retry-After on a 503 for a dependency outage: a Postgres or Redis restart takes seconds;
    # clients retrying sooner only add load.
    outage_retry_after_seconds: int = 5

    # --- api ---------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    api_workers: int = 1
    # Request bodies above this are refused with 413 before parsing (largest real body: a plan, ~20 KB).
    max_body_bytes: int = 256 * 1024
    # The whole body must arrive within this: the largest (~20 KB) takes well under a second on
    # a poor mobile link; a client trickling its body is answered 408 and its connection freed.
    request_body_timeout_seconds: float = 10.0
    log_level: str = "INFO"
    log_json: bool = True

    # Resident API calls per device per minute (server.ratelimit): an app opening after a
    # push makes a handful; 120 leaves room for a family's shared tablet and blocks scripts.
    resident_requests_per_minute: int = 120

    # --- residents ---------------------------------------------------------------
    # Peers: Yahoo!防災速報 3, FEMA 5; product aim is 10.
    max_places_per_resident: int = 10
    # A household member's phones, tablet and browsers; more than this is a script, not a person.
    max_devices_per_resident: int = 10
    # Current location is sensitive; keep it only as long as alert targeting needs it.
    location_retention_hours: int = 72
    # A point this far outside every area polygon (gap or offshore) still snaps to the nearest.
    geocode_snap_meters: float = 1000.0
    # Only `bousai bench places` turns this off, to measure what geocoding costs.
    geocode_on_write: bool = True

    # --- feeds -------------------------------------------------------------------
    jma_feeds: list[str] = Field(
        default_factory=lambda: [
            "https://www.data.jma.go.jp/developer/xml/feed/extra.xml",
            "https://www.data.jma.go.jp/developer/xml/feed/eqvol.xml",
            "https://www.data.jma.go.jp/developer/xml/feed/regular.xml",
            "https://www.data.jma.go.jp/developer/xml/feed/other.xml",
        ]
    )
    cap_feeds: list[str] = Field(default_factory=list)
    # Hosts documents may be fetched from, besides each feed's own origin: "host" on its
    # scheme's default port (80/443), or "host:port" for that port only.
    feed_allowed_hosts: list[str] = Field(
        default_factory=lambda: ["www.data.jma.go.jp"]
    )
    # JMA's high-frequency feeds update every minute.
    feed_poll_seconds: float = 60.0
    feed_fetch_concurrency: int = 4
    # JMA blocks clients past 10 GB a day; stay well under it.
    feed_daily_byte_budget: int = 5 * 1024**3
    # Largest real JMA document is ~1 MB (tsunami with many areas); 10 MB leaves room and blocks bombs.
    xml_max_bytes: int = 10 * 1024 * 1024
    # Per read (connect, each chunk): a silent peer is dropped after this.
    feed_timeout_seconds: float = 10.0
    # Per fetch, headers and body together: JMA's largest document (~1 MB) arrives in well
    # under a second; 30 s allows a slow link yet ends a trickling fetch within half of the
    # 60 s poll interval.
    feed_fetch_deadline_seconds: float = 30.0

    # --- push --------------------------------------------------------------------
    # log: record what would be sent (push_log, `bousai pushes tail`); fcm: send. "outbox",
    # the log's former name, is still accepted.
    push_provider: str = "log"
    fcm_credentials_file: str | None = None
    fcm_project_id: str | None = None
    fcm_endpoint: str | None = None  # override for the local FCM protocol server
    # FCM HTTP v1 default quota: 600,000 messages a minute per project.
    fcm_rate_per_minute: int = 600_000
    apns_endpoint: str | None = None
    apns_key_file: str | None = None
    apns_key_id: str | None = None
    apns_team_id: str | None = None
    apns_topic: str = "jp.fukushima.bousai"
    webpush_vapid_private_key: str | None = None
    webpush_vapid_subject: str = "mailto:bousai@example.jp"
    # Web Push endpoints must be https to a public host; hosts listed here are allowed although
    # private: only for the local stand-in push service of tests and benchmarks, never in production.
    webpush_allow_private_hosts: list[str] = Field(default_factory=list)

    # A push job queued longer than this without being sent is re-queued by the catch-up
    # loop (a worker died between the commit and the stream add); well above a normal
    # fan-out's queueing, well below what a resident would notice as "never came".
    push_stale_seconds: float = 60.0
    # CA bundle for the push providers' TLS: only the local protocol servers of tests and
    # benches set it; production trusts the system store.
    push_ca_file: str | None = None

    # --- worker ------------------------------------------------------------------
    # Comma list of streams this worker reads (a lane family's name selects all its lanes,
    # ``alerts:new`` → ``alerts:new:critical`` …); empty = all. For fault tests and benches
    # that split the work across processes.
    worker_streams: str = ""
    # Run the worker's periodic loops (relay, catch-up): off only in a worker started for
    # one stream in a test or bench.
    worker_loops: bool = True
    # Pending entries idle this long are claimed from a dead consumer; unset = each stream
    # handler's own (10 s), which is well past a live consumer's keepalive (every 3 s).
    worker_claim_idle_ms: int | None = None

    # --- scheduler ---------------------------------------------------------------
    scheduler_lock_ttl_seconds: int = 30

    _sections: dict[type, Any] = PrivateAttr(default_factory=dict)

    def section(self, cls: type[S]) -> S:
        """The process's one instance of a domain's settings section."""
        if cls not in self._sections:
            self._sections[cls] = cls()
        return self._sections[cls]

    def forget(self, cls: type) -> None:
        """Read a section afresh on next use (tests that change the environment)."""
        self._sections.pop(cls, None)


class Section(BaseSettings):
    """A domain's settings: its own ``env_prefix``, the same ``.env``, unknown names ignored."""

    model_config = SettingsConfigDict(
        env_prefix="BOUSAI_", env_file=".env", extra="ignore"
    )


class SectionGetter(Generic[S]):
    """``get_x_settings()`` of a domain: the section of the process's one settings object."""

    def __init__(self, cls: type[S]):
        self.cls = cls

    def __call__(self) -> S:
        return get_settings().section(self.cls)

    def cache_clear(self) -> None:
        get_settings().forget(self.cls)


@lru_cache
def get_settings() -> Settings:
    return Settings()
