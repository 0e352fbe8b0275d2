"""Operations settings (``BOUSAI_*``): metrics ports of the worker and scheduler, process
heartbeats. Kept apart from ``server/settings.py``; only process start-up and
``bousai health`` read them.
"""

from __future__ import annotations


from pydantic_settings import SettingsConfigDict

from server.settings import Section, SectionGetter


class OpsSettings(Section):
    model_config = SettingsConfigDict(
        env_prefix="BOUSAI_", env_file=".env", extra="ignore"
    )

    # Prometheus /metrics of the worker and the scheduler, each on its own port (the api
    # serves its own on BOUSAI_PORT). 0 = none. Ports beside the api's 8000, outside
    # Prometheus' own 9090-9100 range; a second worker on the same host needs its own
    # (`bousai worker --metrics-port`), else it runs without metrics and says so.
    worker_metrics_port: int = 9101
    scheduler_metrics_port: int = 9102
    # Address the metrics ports listen on; unset = BOUSAI_HOST (loopback by default, 0.0.0.0
    # in the compose file so Prometheus in another container can scrape).
    metrics_host: str | None = None
    # The scheduler refreshes a Redis key this often (the worker has its own, every 10 s);
    # `bousai health scheduler` fails once it is 3 periods old, i.e. the event loop stalled
    # or the process is gone.
    heartbeat_seconds: float = 10.0


get_ops_settings = SectionGetter(OpsSettings)
