"""The private internals of jh2 and firebase-admin that ``my_evacuation/push/providers/h2.py`` and
``my_evacuation/push/providers/fcm.py`` lean on, pinned: an upgrade that changes their shape fails here, by
name, instead of as lost or duplicated pushes under load.

- h2.py subclasses ``jh2.connection.H2Connection`` (jh2: h2's maintained fork with compiled
  HPACK): it overrides ``_receive_goaway_frame``
  (keeps reading the streams a GOAWAY promised to finish by reopening
  ``state_machine.state``), and ``open_outbound_streams`` (jh2's O(streams) count, consulted
  before each new stream), calling ``_open_streams`` to sweep closed streams out of
  ``streams``.
- fcm.py encodes messages with ``messaging._MessagingService.encode_message`` and sends
  ``Message(fid=...)`` for Firebase installation ids.
"""

from __future__ import annotations

import inspect

import jh2.config
import jh2.connection
import jh2.events
import jh2.exceptions
import jh2.settings
import pytest
from firebase_admin import messaging
from jh2.hyperframe.frame import GoAwayFrame, SettingsFrame

from my_evacuation.push.providers.h2 import _GracefulGoawayConnection


def _client() -> jh2.connection.H2Connection:
    c = jh2.connection.H2Connection(jh2.config.H2Configuration(client_side=True, header_encoding=None))
    c.initiate_connection()
    c.data_to_send()
    return c


def _server_says(c: jh2.connection.H2Connection, *frames) -> list:
    return c.receive_data(b"".join(f.serialize() for f in frames))


def test_jh2_receive_goaway_frame_takes_a_frame_and_returns_frames_and_events():
    assert list(inspect.signature(jh2.connection.H2Connection._receive_goaway_frame).parameters) == ["self", "frame"]
    c = _client()
    frames, events = c._receive_goaway_frame(GoAwayFrame(0, last_stream_id=1))
    assert isinstance(frames, list) and [type(e) for e in events] == [jh2.events.ConnectionTerminated]
    # what h2.py undoes: jh2 closes its state machine on a GOAWAY
    assert c.state_machine.state == jh2.connection.ConnectionState.CLOSED
    c.state_machine.state = jh2.connection.ConnectionState.CLIENT_OPEN  # settable, and the state exists


def test_after_goaway_the_graceful_connection_still_reads_promised_answers():
    c = _GracefulGoawayConnection(jh2.config.H2Configuration(client_side=True, header_encoding=None), lambda: 0)
    c.initiate_connection()
    c.send_headers(1, [(b":method", b"POST"), (b":scheme", b"https"), (b":authority", b"fcm"), (b":path", b"/")], end_stream=True)
    c.data_to_send()
    _server_says(c, SettingsFrame(0), GoAwayFrame(0, last_stream_id=1))
    assert c.state_machine.state == jh2.connection.ConnectionState.CLIENT_OPEN


def test_jh2_counts_open_streams_through_the_overridable_property():
    assert isinstance(inspect.getattr_static(jh2.connection.H2Connection, "open_outbound_streams"), property)
    assert list(inspect.signature(jh2.connection.H2Connection._open_streams).parameters) == ["self", "remainder"]
    c = _client()
    assert isinstance(c.streams, dict) and isinstance(c._open_streams(1), int)

    class Full(jh2.connection.H2Connection):
        @property
        def open_outbound_streams(self) -> int:
            return 10**6

    full = Full(jh2.config.H2Configuration(client_side=True, header_encoding=None))
    full.initiate_connection()
    _server_says(full, SettingsFrame(0, settings={jh2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 100}))
    # jh2 asks the property before opening a stream: our count is the one it enforces
    with pytest.raises(jh2.exceptions.TooManyStreamsError):
        full.send_headers(1, [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"x"), (b":path", b"/")])


def test_firebase_admin_encodes_messages_with_its_private_encoder():
    # called on the class, without a service instance (fcm.py has no firebase App per message)
    assert list(inspect.signature(messaging._MessagingService.encode_message).parameters) == ["message"]
    m = messaging.Message(
        fid="installation-id",
        data={"alert_id": "5"},
        notification=messaging.Notification(title="避難指示", body="今すぐ避難"),
        android=messaging.AndroidConfig(priority="high", collapse_key="e1"),
        apns=messaging.APNSConfig(headers={"apns-priority": "10"}, payload=messaging.APNSPayload(aps=messaging.Aps(sound="default"))),
    )
    encoded = messaging._MessagingService.encode_message(m)
    assert encoded["fid"] == "installation-id" and encoded["data"] == {"alert_id": "5"}
    assert encoded["notification"] == {"title": "避難指示", "body": "今すぐ避難"}
    assert encoded["android"]["priority"] == "high" and encoded["apns"]["payload"]["aps"]["sound"] == "default"
