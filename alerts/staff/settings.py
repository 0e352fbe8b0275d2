"""Staff settings, read from ``BOUSAI_*`` like the kit's, kept here so the kit's file stays the kit's."""

from __future__ import annotations

import secrets
from functools import lru_cache

import structlog
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from server.settings import Section, SectionGetter

log = structlog.get_logger()


class StaffSettings(Section):
    model_config = SettingsConfigDict(
        env_prefix="BOUSAI_", env_file=".env", extra="ignore"
    )

    # HS256 secret for staff tokens; unset → a random per-process secret (tokens die with the process).
    staff_token_secret: str | None = None
    # Short-lived: a stolen console token is worth 15 minutes; the console signs in again.
    staff_token_ttl_seconds: int = 15 * 60
    # `bousai staff create-admin`'s password when neither --password-stdin nor a prompt is
    # wanted (a container's first start); read once, never logged.
    admin_password: SecretStr | None = None
    # Sign-in attempts are counted before the password is checked, in 15-minute windows:
    # - per (username, address): 10 guesses at one account from one place, then wait. Keyed by
    #   the pair so that anyone who knows a username cannot lock its owner out: the right
    #   password from another address (the console in the crisis room) still works.
    staff_login_max_per_user_address: int = 10
    # - per address over all usernames: stops one address guessing across accounts. A sign-in
    #   that succeeds is given back, so an office behind one NAT signing in at shift change
    #   never reaches it; 50 failures is far more than people mistyping.
    staff_login_max_per_ip: int = 50
    staff_login_window_seconds: int = 15 * 60
    # argon2id takes ~50 ms of CPU and 64 MiB per check, run off the event loop: at most this
    # many at once per process (the shared 2 cores), the rest wait their turn.
    staff_password_checks_at_once: int = 2
    # Staff API calls per account per minute: a console polls a few times a minute; 300 leaves room for bursts.
    staff_requests_per_minute: int = 300
    # CAP <sender>: the prefecture's crisis-management address (CAP wants a globally unique sender).
    cap_sender: str = "bousai@pref.fukushima.lg.jp"
    cap_sender_name: str = "福島県 危機管理部"
    # Public base URL for links in the Atom feed (the request's own base when unset).
    public_base_url: str | None = None

    def token_secret(self) -> str:
        return self.staff_token_secret or _process_secret()


@lru_cache
def _process_secret() -> str:
    log.warning(
        "staff.token_secret_unset",
        hint="set BOUSAI_STAFF_TOKEN_SECRET; tokens will not survive a restart",
    )
    return secrets.token_urlsafe(48)


get_staff_settings = SectionGetter(StaffSettings)
