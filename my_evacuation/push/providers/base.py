"""The push provider interface: one message type in, one result type out.

A provider sends a batch (≤ ``MAX_BATCH``) and returns exactly one ``PushResult`` per
message, in order, never raising for a per-message failure: failures are classified
(see ``classification.py``) into ``dead_token`` / ``retry`` / ``permanent``. Retrying,
rate limiting and cool-downs live in ``retry.py``; deleting dead tokens is the caller's
(the delivery worker owns the database).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

# FCM's send_each accepts at most 500 messages; the same bound keeps every provider's
# batch (and its memory) small and lets a worker ack a batch in one go.
MAX_BATCH = 500
# FCM rejects payloads over 4 KB (APNs too, for regular pushes): push is a hint, the app
# fetches the rest from the API. Data values are strings (FCM's data map is string→string).
MAX_DATA_BYTES = 2048

# The key under which the idempotency key travels in every payload: the app drops a
# message it has already shown, which makes at-least-once delivery safe.
MESSAGE_ID_KEY = "message_id"
# What a data map over MAX_DATA_BYTES is cut down to: the ids the app fetches the rest by.
# A provider would refuse the whole push; a push with less data still wakes the resident.
ESSENTIAL_DATA_KEYS = (MESSAGE_ID_KEY, "kind", "alert_id", "event_id", "level", "check_id", "notification_id")


def data_bytes(data: dict[str, str]) -> int:
    return sum(len(k.encode()) + len(v.encode()) for k, v in data.items())


class Status(enum.StrEnum):
    OK = "ok"
    DEAD_TOKEN = "dead_token"  # the provider says this exact token will never work again: delete it
    RETRY = "retry"  # transient (quota, unavailable, internal, transport): send again later
    PERMANENT = "permanent"  # will fail again as is: record it, do not retry, keep the token


class TokenType(enum.StrEnum):
    REGISTRATION_TOKEN = "token"
    # Firebase installation id: firebase-admin ≥ 7 sends it as ``message.fid`` (FCM v1 target).
    FID = "fid"


@dataclass(frozen=True, slots=True)
class PushMessage:
    message_id: str  # idempotency key, e.g. "<delivery id>"; travels in data[MESSAGE_ID_KEY]
    device_id: str
    token: str  # FCM token / FID, APNs device token (hex), or Web Push subscription JSON
    title: str
    body: str
    kind: str = "alert"  # what the message is about: alert | notice | safety_check | all_clear ...
    data: dict[str, str] = field(default_factory=dict)  # small: alert id, event id, level
    critical: bool = False  # life-critical: APNs critical alert (sound through silent mode), FCM high priority
    # The critical lane's (server.lanes): sent ahead of ordinary messages waiting for a stream
    # on the provider's connections. Not sent to the provider.
    urgent: bool = False
    collapse_key: str | None = None  # a newer message with the same key replaces an undelivered older one
    ttl_seconds: int | None = None  # how long the provider keeps it for an offline device
    language: str | None = None
    token_type: TokenType = TokenType.REGISTRATION_TOKEN
    # Web Push only: the browser's subscription {endpoint, keys: {p256dh, auth}}; token is its endpoint.
    subscription: dict | None = None

    def payload_data(self) -> dict[str, str]:
        """The data map as sent: strings, the idempotency key and the kind; cut down to the
        essential ids when it would pass ``MAX_DATA_BYTES`` (never refused for its size)."""
        out = {str(k): str(v) for k, v in self.data.items()}
        out[MESSAGE_ID_KEY] = self.message_id
        out.setdefault("kind", self.kind)
        if data_bytes(out) > MAX_DATA_BYTES:
            out = {k: out[k] for k in ESSENTIAL_DATA_KEYS if k in out}
        return out


@dataclass(frozen=True, slots=True)
class PushResult:
    message_id: str
    status: Status
    error_code: str | None = None  # provider's own code: UNREGISTERED, BadDeviceToken, http_410 ...
    provider_message_id: str | None = None  # FCM "projects/p/messages/…", APNs apns-id
    retry_after: float | None = None  # seconds, from the provider's Retry-After
    detail: str | None = None
    token: str | None = None  # set on dead_token results: the exact token to delete

    @property
    def ok(self) -> bool:
        return self.status is Status.OK


@runtime_checkable
class PushProvider(Protocol):
    name: str

    async def send(self, batch: list[PushMessage]) -> list[PushResult]:
        """One result per message, same order. Raises only for misuse (batch too large)."""
        ...

    async def aclose(self) -> None: ...


class PushError(Exception):
    """Base of push errors (misuse and configuration, not per-message failures)."""


class PushConfigError(PushError):
    """A provider cannot be built from the settings given (missing key, bad file...)."""


class BatchTooLarge(PushError):
    pass


def check_batch(batch: list[PushMessage]) -> None:
    if len(batch) > MAX_BATCH:
        raise BatchTooLarge(f"a batch holds at most {MAX_BATCH} messages, got {len(batch)}")
