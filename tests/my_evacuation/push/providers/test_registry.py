"""Providers are built from Settings; a kind without credentials falls back to the log."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from my_evacuation.push.providers.apns import ApnsProvider
from my_evacuation.push.providers.base import PushConfigError, TokenType
from my_evacuation.push.providers.fcm import FcmProvider
from my_evacuation.push.providers.log import LogProvider
from my_evacuation.push.providers.registry import build_providers, token_type_for
from testkit.standins.certs import make_apns_key, make_service_account
from testkit.standins.webpush_server import make_vapid_private_key_pem
from my_evacuation.push.providers.webpush import WebPushProvider
from server.settings import Settings


def test_default_is_the_log_for_every_kind(engine):
    providers = build_providers(Settings(), sessionmaker=async_sessionmaker(engine))
    for kind in ("fcm_token", "fcm_fid", "apns", "webpush"):
        assert isinstance(providers.for_kind(kind), LogProvider)


def test_fcm_with_a_service_account_and_apns_and_webpush_when_configured(engine, tmp_path):
    sa = tmp_path / "sa.json"
    make_service_account(sa, project_id="bousai-prod", token_uri="https://oauth2.googleapis.com/token")
    key = tmp_path / "AuthKey.p8"
    make_apns_key(key)
    settings = Settings(
        push_provider="fcm",
        fcm_credentials_file=str(sa),
        fcm_endpoint="https://127.0.0.1:9443",
        apns_key_file=str(key),
        apns_key_id="KEY1234567",
        apns_team_id="TEAM123456",
        webpush_vapid_private_key=make_vapid_private_key_pem(),
    )
    providers = build_providers(settings, sessionmaker=async_sessionmaker(engine))
    fcm = providers.for_kind("fcm_token")
    assert isinstance(fcm, FcmProvider) and providers.for_kind("fcm_fid") is fcm
    assert fcm.project_id == "bousai-prod"
    assert fcm.url == "https://127.0.0.1:9443/v1/projects/bousai-prod/messages:send"
    assert isinstance(providers.for_kind("apns"), ApnsProvider)
    assert isinstance(providers.for_kind("webpush"), WebPushProvider)


def test_fcm_without_apns_keys_sends_ios_to_the_log(engine, tmp_path):
    sa = tmp_path / "sa.json"
    make_service_account(sa, project_id="p", token_uri="https://oauth2.googleapis.com/token")
    providers = build_providers(Settings(push_provider="fcm", fcm_credentials_file=str(sa)), sessionmaker=async_sessionmaker(engine))
    assert isinstance(providers.for_kind("apns"), LogProvider)


def test_missing_credentials_file_is_a_config_error(engine, tmp_path):
    with pytest.raises(PushConfigError, match="does not exist"):
        build_providers(Settings(push_provider="fcm", fcm_credentials_file=str(tmp_path / "nope.json")), sessionmaker=async_sessionmaker(engine))


def test_unknown_provider_name_is_a_config_error(engine):
    with pytest.raises(PushConfigError):
        build_providers(Settings(push_provider="carrier-pigeon"), sessionmaker=async_sessionmaker(engine))


def test_token_type_follows_the_device_push_kind():
    assert token_type_for("fcm_fid") is TokenType.FID
    assert token_type_for("fcm_token") is TokenType.REGISTRATION_TOKEN
