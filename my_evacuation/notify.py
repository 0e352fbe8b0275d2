"""The one door from my_evacuation to the push pipeline (my_evacuation.push.notifications).

Rows are written in the caller's transaction and sent by the workers after it commits;
``dedupe_key`` makes each (recipient, key) at most one notification, which is how "once per
member" is guaranteed under retries and concurrent updates.
"""

from __future__ import annotations

from my_evacuation.push.notifications import NotificationItem, enqueue_notification

__all__ = ["NotificationItem", "enqueue_notification"]
