"""Build the push providers from Settings: one per device push kind.

``settings.push_provider``:
- ``log`` (default, ``make run``; ``outbox``, its former name, still accepted): every kind
  records to ``push_log``.
- ``fcm``: FCM (firebase-admin credentials: ``fcm_credentials_file``, else application
  default credentials) for ``fcm_token`` / ``fcm_fid``; APNs direct for ``apns`` when
  ``apns_key_file`` + ``apns_key_id`` + ``apns_team_id`` are set; Web Push for ``webpush``
  when ``webpush_vapid_private_key`` is set. A kind without credentials falls back to the
  log, so nothing is silently dropped.

Endpoints: ``fcm_endpoint`` / ``apns_endpoint`` point at local protocol servers. Their
CA is trusted through ``ca_file`` here, or the standard ``SSL_CERT_FILE`` environment
variable (OpenSSL's default verify paths) — verification is never switched off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from my_evacuation.push.providers.base import PushConfigError, PushProvider, TokenType
from my_evacuation.push.providers.ratelimit import RedisTokenBucket
from server.settings import Settings

PUSH_KINDS = ("fcm_token", "fcm_fid", "apns", "webpush")

# Web Push services publish no single quota; this keeps one worker fleet polite.
WEBPUSH_RATE_PER_MINUTE = 60_000
# APNs publishes no quota either; Apple asks only for connection reuse. Same politeness bound.
APNS_RATE_PER_MINUTE = 300_000


def token_type_for(push_kind: str) -> TokenType:
    return TokenType.FID if push_kind == "fcm_fid" else TokenType.REGISTRATION_TOKEN


@dataclass
class PushProviders:
    by_kind: dict[str, PushProvider]
    limiters: dict[str, RedisTokenBucket] = field(default_factory=dict)

    def for_kind(self, push_kind: str) -> PushProvider:
        try:
            return self.by_kind[push_kind]
        except KeyError:
            raise PushConfigError(f"no push provider for kind {push_kind!r}") from None

    def limiter_for(self, provider: PushProvider) -> RedisTokenBucket | None:
        return self.limiters.get(provider.name)

    async def aclose(self) -> None:
        seen: set[int] = set()
        for p in self.by_kind.values():
            if id(p) not in seen:
                seen.add(id(p))
                await p.aclose()


def build_fcm(settings: Settings, *, ca_file: str | None = None):
    from firebase_admin import credentials

    from my_evacuation.push.providers.fcm import FcmProvider

    if settings.fcm_credentials_file:
        path = Path(settings.fcm_credentials_file)
        if not path.is_file():
            raise PushConfigError(f"fcm_credentials_file {path} does not exist")
        try:
            cred = credentials.Certificate(str(path))
        except (ValueError, OSError) as exc:
            raise PushConfigError(f"fcm_credentials_file {path} is not a service-account key: {exc}") from exc
        project_id = settings.fcm_project_id or cred.project_id
    else:
        try:
            cred = credentials.ApplicationDefault()
            project_id = settings.fcm_project_id or cred.project_id
        except Exception as exc:  # noqa: BLE001 - google.auth raises DefaultCredentialsError and friends
            raise PushConfigError(f"no FCM credentials: {exc}") from exc
    if not project_id:
        raise PushConfigError("FCM needs a project id (fcm_project_id or the service account's project_id)")
    return FcmProvider(cred, project_id, endpoint=settings.fcm_endpoint, ca_file=ca_file)


def build_apns(settings: Settings, *, ca_file: str | None = None):
    from my_evacuation.push.providers.apns import ApnsProvider

    path = Path(settings.apns_key_file or "")
    if not path.is_file():
        raise PushConfigError(f"apns_key_file {path} does not exist")
    return ApnsProvider(
        key_pem=path.read_text(),
        key_id=settings.apns_key_id or "",
        team_id=settings.apns_team_id or "",
        topic=settings.apns_topic,
        endpoint=settings.apns_endpoint,
        ca_file=ca_file,
    )


def build_webpush(settings: Settings, *, ca_file: str | None = None):
    from my_evacuation.push.providers.webpush import WebPushProvider

    return WebPushProvider(
        vapid_private_key=settings.webpush_vapid_private_key or "",
        subject=settings.webpush_vapid_subject,
        ca_file=ca_file,
        allow_hosts=frozenset(settings.webpush_allow_private_hosts),
    )


def build_providers(
    settings: Settings,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis | None = None,
    ca_file: str | None = None,
) -> PushProviders:
    from my_evacuation.push.providers.log import LogProvider

    log = LogProvider(sessionmaker)
    by_kind: dict[str, PushProvider] = dict.fromkeys(PUSH_KINDS, log)
    limiters: dict[str, RedisTokenBucket] = {}
    if settings.push_provider in ("log", "outbox"):
        return PushProviders(by_kind)
    if settings.push_provider != "fcm":
        raise PushConfigError(f"push_provider must be 'log' or 'fcm', not {settings.push_provider!r}")
    fcm = build_fcm(settings, ca_file=ca_file)
    by_kind["fcm_token"] = by_kind["fcm_fid"] = fcm
    if redis is not None:
        limiters["fcm"] = RedisTokenBucket(redis, "fcm", rate_per_minute=settings.fcm_rate_per_minute)
    if settings.apns_key_file and settings.apns_key_id and settings.apns_team_id:
        by_kind["apns"] = build_apns(settings, ca_file=ca_file)
        if redis is not None:
            limiters["apns"] = RedisTokenBucket(redis, "apns", rate_per_minute=APNS_RATE_PER_MINUTE)
    if settings.webpush_vapid_private_key:
        by_kind["webpush"] = build_webpush(settings, ca_file=ca_file)
        if redis is not None:
            limiters["webpush"] = RedisTokenBucket(redis, "webpush", rate_per_minute=WEBPUSH_RATE_PER_MINUTE)
    return PushProviders(by_kind, limiters)
