"""Errors a resident's app shows, in the language it asks for; code and detail unchanged."""

from __future__ import annotations

import pytest

from server.error_language import catalog, requested_language
from server.i18n import LANGUAGES


@pytest.mark.parametrize(("header", "language"), [
    ("vi", "vi"), ("pt-BR,pt;q=0.9,en;q=0.8", "pt"), ("zh-TW", "zh-Hant"), ("xx, ko;q=0.5", "ko"),
    ("en-US", "en"), ("fr", None), ("", None), ("de;q=1, ne;q=0.3", "ne"), ("ja;q=0, th", "th"),
])
def test_requested_language(header, language):
    assert requested_language(header) == language


def test_every_message_in_every_language():
    for key, messages in catalog().items():
        assert set(messages) == set(LANGUAGES), key
        assert all(m.strip() for m in messages.values()), key


async def test_a_residents_error_is_said_in_their_language(client):
    r = await client.get("/v1/me/places", headers={"Authorization": "Bearer nope", "Accept-Language": "vi"})
    body = r.json()
    assert r.status_code == 401 and body["code"] and body["error"] == catalog()["status_401"]["vi"]
    assert body["error_en"] and body["language"] == "vi"

    r = await client.post("/v1/devices", json={"platform": "android", "fcm_token": "tok-err-lang", "language": "ko"})
    auth = {"Authorization": f"Bearer {r.json()['token']}", "Accept-Language": "ko-KR,ko;q=0.9"}
    r = await client.post("/v1/groups/join", headers=auth, json={"code": "ABCDE-FGHIJ", "display_name": "x"})
    body = r.json()
    assert r.status_code == 404 and body["code"] == "invalid_invite"
    assert body["error"] == catalog()["invalid_invite"]["ko"] and "not valid" in body["error_en"]
    plain = await client.get("/v1/me/places", headers={"Authorization": "Bearer nope"})
    assert "error_en" not in plain.json()  # no header: the answer as it always was
