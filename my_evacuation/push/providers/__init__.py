"""Push providers behind one interface (``base.PushProvider.send(batch) -> results``).

- ``base``: PushMessage, PushResult, Status (ok | dead_token | retry | permanent), errors.
- ``classification``: every provider error → Status, with the reason for each entry.
- ``fcm``: FCM HTTP v1 — firebase-admin credentials and message encoding, our HTTP/2 sending.
- ``apns``: APNs direct (JWT ES256), critical alerts.
- ``webpush``: Web Push with VAPID via pywebpush.
- ``log``: records to ``push_log`` (the default without credentials).
- ``retry.send_with_retries``: resends ``retry`` results (capped exponential backoff, full
  jitter, Retry-After, a Redis cool-down shared by all workers on quota errors) and reports
  dead tokens for the caller to delete.
- ``ratelimit.RedisTokenBucket``: one rate budget per provider for all workers (Lua, atomic).
- ``registry.build_providers(settings, sessionmaker=..., redis=...)``: providers per device push kind.
- ``h2``: the small HTTP/2 client FCM and APNs share.
- ``testing``: local protocol servers (FCM, APNs, Web Push) for tests and ``bousai bench push``.
"""
