"""Evacuees' tunables, read from ``BOUSAI_EVACUEES_*`` (kept here so server/settings.py stays
the kit's; each default has its reason beside it)."""

from __future__ import annotations


from pydantic_settings import SettingsConfigDict

from server.settings import Section, SectionGetter


class EvacueesSettings(Section):
    model_config = SettingsConfigDict(
        env_prefix="BOUSAI_EVACUEES_", env_file=".env", extra="ignore"
    )

    # Phones queue check-ins offline for hours, rarely days; older than this is a broken clock.
    max_client_age_hours: int = 7 * 24
    # A phone clock a little ahead is normal; far ahead is a wrong date.
    max_client_skew_seconds: int = 300
    # A household outside shelters stays on the roster this long after its last update unless
    # renewed (the app renews while the household says it is still away).
    outside_ttl_hours: int = 24
    # Per device credential on /v1/shelters/checkin|checkout (outside the /v1/me limit): a phone
    # flushing its offline queue sends a handful; a script trying codes is stopped here.
    checkin_requests_per_minute: int = 60
    # Ended check-ins (names, needs) are kept for the after-action review of a disaster season,
    # then deleted; people still checked in are never deleted.
    checkin_retention_days: int = 90


get_evacuees_settings = SectionGetter(EvacueesSettings)
