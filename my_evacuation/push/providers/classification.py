"""Every provider error, classified in one place, with the reason for each entry.

Three outcomes besides ok (``base.Status``):
- DEAD_TOKEN: the provider says this exact token is gone for good → the caller deletes
  exactly that token (never on any other error: ntfy deleted on every error, and lost
  live devices after an outage).
- RETRY: transient → resend with capped exponential backoff and full jitter (gorush
  retried everything, permanent errors included, and hammered the provider).
- PERMANENT: the same request will fail again → record it, keep the token.
Anything not listed is PERMANENT: an unknown error is recorded, not retried forever.
"""

from __future__ import annotations

from my_evacuation.push.providers.base import Status

D, R, P = Status.DEAD_TOKEN, Status.RETRY, Status.PERMANENT

# FCM HTTP v1 ``FcmError.errorCode`` (falls back to the HTTP status below when absent).
FCM_ERROR_CODES: dict[str, tuple[Status, str]] = {
    "UNREGISTERED": (D, "app uninstalled or token expired; FCM says it will never be valid again"),
    "QUOTA_EXCEEDED": (R, "project or per-device quota; retry after Retry-After and cool down all workers"),
    "UNAVAILABLE": (R, "FCM overloaded; Google asks for exponential backoff"),
    "INTERNAL": (R, "FCM internal error; Google asks for exponential backoff"),
    "INVALID_ARGUMENT": (
        P,
        "bad payload or malformed token; the same request fails again, and deleting on it would wipe "
        "tokens over a payload bug of ours",
    ),
    "SENDER_ID_MISMATCH": (
        P,
        "token belongs to another sender; usually our project/credentials are wrong, so deleting would "
        "wipe every token after a misconfiguration",
    ),
    "THIRD_PARTY_AUTH_ERROR": (P, "APNs/Web Push credentials in the Firebase console are wrong: ops must fix"),
    "UNSPECIFIED_ERROR": (P, "no more is known; recorded for inspection"),
}

# HTTP status when FCM gives no errorCode (e.g. a proxy or load balancer answered).
FCM_HTTP_STATUS: dict[int, tuple[Status, str]] = {
    404: (D, "FCM's UNREGISTERED is a 404"),
    429: (R, "RESOURCE_EXHAUSTED"),
    500: (R, "INTERNAL"),
    502: (R, "bad gateway in front of FCM: transient"),
    503: (R, "UNAVAILABLE"),
    504: (R, "gateway timeout: transient"),
    400: (P, "INVALID_ARGUMENT"),
    403: (P, "PERMISSION_DENIED: credentials/project"),
}

# APNs ``reason`` in the JSON body (https://developer.apple.com/documentation/usernotifications).
APNS_REASONS: dict[str, tuple[Status, str]] = {
    "Unregistered": (D, "410: the device token is no longer active for the topic"),
    "BadDeviceToken": (D, "400: the token is malformed or not a device token; it can never work"),
    "ExpiredToken": (D, "410: the device token has expired"),
    "TooManyRequests": (R, "429: too many requests to the same device token; back off"),
    "InternalServerError": (R, "500: APNs internal error"),
    "ServiceUnavailable": (R, "503: APNs unavailable"),
    "Shutdown": (R, "503: the APNs server is shutting down; reconnect and resend"),
    "ExpiredProviderToken": (R, "403: our JWT is older than an hour; a fresh one is minted before the retry"),
    "DeviceTokenNotForTopic": (
        P,
        "token is for another app; usually our apns-topic is misconfigured, so deleting would wipe tokens",
    ),
    "TopicDisallowed": (P, "configuration: topic not allowed"),
    "InvalidProviderToken": (P, "configuration: key id / team id / key do not match"),
    "PayloadTooLarge": (P, "our payload is over 4 KB: a bug of ours"),
    "BadCollapseId": (P, "collapse id over 64 bytes: a bug of ours"),
}

APNS_HTTP_STATUS: dict[int, tuple[Status, str]] = {
    410: (D, "410 Gone is APNs' answer for an inactive token"),
    429: (R, "rate limited"),
    500: (R, "internal"),
    503: (R, "unavailable"),
}

# Web Push (RFC 8030 push services: FCM web, Mozilla autopush, Apple web push).
WEBPUSH_HTTP_STATUS: dict[int, tuple[Status, str]] = {
    404: (D, "the subscription does not exist (expired or unsubscribed)"),
    410: (D, "the subscription is gone for good"),
    429: (R, "rate limited by the push service; honour Retry-After"),
    500: (R, "push service internal error"),
    502: (R, "bad gateway: transient"),
    503: (R, "push service unavailable"),
    504: (R, "gateway timeout: transient"),
    400: (P, "malformed request: a bug of ours"),
    401: (P, "VAPID authentication failed: configuration"),
    403: (P, "VAPID key does not match the subscription's applicationServerKey"),
    413: (P, "payload too large: a bug of ours"),
}

# Failures below HTTP (no response): all retried — they are transport trouble, not verdicts
# on the token. Stream refused (REFUSED_STREAM) and streams above a GOAWAY's last id were
# never processed, so resending them cannot duplicate; a timeout might, which the
# message_id in the payload lets the app drop.
TRANSPORT_ERRORS: dict[str, tuple[Status, str]] = {
    "stream_refused": (R, "HTTP/2 stream refused (over SETTINGS_MAX_CONCURRENT_STREAMS): not processed"),
    "goaway": (R, "connection closed with GOAWAY: streams above last_stream_id were not processed"),
    "connect": (R, "could not connect: nothing was sent"),
    "timeout": (R, "no answer in time: may have been delivered; the app dedupes by message_id"),
    "protocol": (R, "connection broke mid-request"),
}


def classify_fcm(http_status: int, error_code: str | None) -> Status:
    if error_code and error_code in FCM_ERROR_CODES:
        return FCM_ERROR_CODES[error_code][0]
    return FCM_HTTP_STATUS.get(http_status, (P, ""))[0]


def classify_apns(http_status: int, reason: str | None) -> Status:
    if reason and reason in APNS_REASONS:
        return APNS_REASONS[reason][0]
    return APNS_HTTP_STATUS.get(http_status, (P, ""))[0]


def classify_webpush(http_status: int) -> Status:
    if 200 <= http_status < 300:
        return Status.OK
    return WEBPUSH_HTTP_STATUS.get(http_status, (P, ""))[0]


def is_quota(error_code: str | None) -> bool:
    """Errors that mean "the whole sender is over its quota": every worker cools down."""
    return error_code in {"QUOTA_EXCEEDED", "http_429"}
