"""Settings of the real-time JMA source (DMDATA.JP API v2 WebSocket), ``BOUSAI_REALTIME_*``.

Kept apart from ``server/settings.py``: only the realtime process, the poller's gap check
and ``bousai feeds status`` read them. The source is off until a key is set; without it the
service hears JMA only through the public PULL feeds (a minute or more behind, no EEW).
"""

from __future__ import annotations


from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from server.settings import Section, SectionGetter

# DMDATA.JP's classifications (Socket Start v2). eew.realtime (強震モニタ-style data) is not
# a JMA telegram and is never asked for.
KNOWN_CLASSIFICATIONS = (
    "eew.warning",
    "eew.forecast",
    "telegram.earthquake",
    "telegram.volcano",
    "telegram.weather",
    "telegram.scheduled",
)


class RealtimeSettings(Section):
    model_config = SettingsConfigDict(
        env_prefix="BOUSAI_REALTIME_", env_file=".env", extra="ignore"
    )

    # The DMDATA.JP API key (Basic auth, key as user name). Unset = the source is off.
    api_key: SecretStr | None = None
    # Socket Start v2; a local stand-in (alerts/feeds/realtime_server.py) in tests and --demo.
    url: str = "https://api.dmdata.jp/v2/socket"
    # What residents are told about: EEW (warning and forecast, the forecast drives the
    # seismic-threshold preference), earthquake/tsunami, volcano, weather warnings.
    # telegram.scheduled (定時: forecasts, observations) carries nothing we alert on.
    classifications: list[str] = Field(
        default_factory=lambda: [
            "eew.warning",
            "eew.forecast",
            "telegram.earthquake",
            "telegram.volcano",
            "telegram.weather",
        ]
    )
    # Test telegrams (訓練 / 試験) only when asked: they are stored as drills, never real alerts,
    # but a production service has no use for DMDATA's test traffic.
    accept_tests: bool = False
    # Sockets at once. DMDATA's base contract allows one; a second (redundancy across its
    # Tokyo/Osaka servers) needs its added-connection contract.
    connections: int = 1
    app_name: str = "bousai"
    # First reconnect within a second (a server restart is quick), never more than a minute
    # apart: every second without the socket is a second an EEW could be missed.
    backoff_base_seconds: float = 1.0
    backoff_cap_seconds: float = 60.0
    # Socket Start and the WebSocket handshake: a slow DMDATA must not hold the reconnect loop.
    connect_timeout_seconds: float = 10.0
    # DMDATA pings about every minute and closes a socket left unanswered for 120 s; hearing
    # nothing at all for this long means the socket is dead even if TCP has not noticed.
    idle_timeout_seconds: float = 150.0
    # A document PULL stored first counts as missed by the socket only if the socket has not
    # delivered it this long after (the two race for every document while both are healthy).
    gap_grace_seconds: float = 60.0
    # Message ids are remembered this long for dedupe across connections and reconnects
    # (DMDATA re-sends nothing older than a reconnect, a day is ample).
    dedupe_ttl_seconds: int = 86_400
    # Decoded messages waiting for ingest; past this the socket drops (and counts) rather
    # than stall its ping answers. PULL backfills a dropped document.
    queue_size: int = 1000
    # Prometheus scrape port of the realtime process (bousai_realtime_*, bousai_feed_gap_total);
    # the api's /metrics shows only its own process. Off by default: the gap total is also in
    # Redis, where `bousai feeds status` reads it.
    metrics_port: int | None = None

    @property
    def enabled(self) -> bool:
        return self.api_key is not None and bool(self.api_key.get_secret_value())


get_realtime_settings = SectionGetter(RealtimeSettings)
