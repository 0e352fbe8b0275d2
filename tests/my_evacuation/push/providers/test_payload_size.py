"""A push's data map never makes the provider refuse it for its size (MAX_DATA_BYTES)."""

from __future__ import annotations

from my_evacuation.push.providers.base import ESSENTIAL_DATA_KEYS, MAX_DATA_BYTES, PushMessage, data_bytes


def test_small_data_goes_as_given():
    m = PushMessage("m-1", "d", "tok", "title", "body", data={"alert_id": "5", "guidance": "高台へ"})
    assert m.payload_data() == {"alert_id": "5", "guidance": "高台へ", "message_id": "m-1", "kind": "alert"}


def test_oversized_data_keeps_the_ids_the_app_fetches_the_rest_by():
    m = PushMessage("m-2", "d", "tok", "title", "body", kind="alert",
                    data={"alert_id": "7", "event_id": "3", "level": "4", "guidance": "避難" * 1000})
    out = m.payload_data()
    assert data_bytes(out) <= MAX_DATA_BYTES
    assert out == {"message_id": "m-2", "kind": "alert", "alert_id": "7", "event_id": "3", "level": "4"}
    assert set(out) <= set(ESSENTIAL_DATA_KEYS)
