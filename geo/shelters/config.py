"""Shelter tunables, read from ``BOUSAI_SHELTERS_*`` (kept here so server/settings.py stays the
kit's; each default has its reason beside it)."""

from __future__ import annotations


from pydantic_settings import SettingsConfigDict

from server.settings import Section, SectionGetter


class ShelterSettings(Section):
    model_config = SettingsConfigDict(
        env_prefix="BOUSAI_SHELTERS_", env_file=".env", extra="ignore"
    )

    # What a shelter's QR code opens: the app's universal link (the app takes the code from
    # ``c=``); a phone without the app lands on the prefecture's page that explains it.
    checkin_url_base: str = "https://bousai.pref.fukushima.example/checkin?c="
    # Signing key cache: a key added by a rotation is used by every process within this time.
    key_cache_seconds: float = 60.0


get_shelter_settings = SectionGetter(ShelterSettings)
