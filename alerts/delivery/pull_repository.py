"""The pull's own statements (GET /v1/me/alerts, alerts.delivery.pull). Never commits.

The pull runs on every app launch, during a fan-out too: its statements go straight to the
driver connection (asyncpg, prepared once per connection), with no ORM layer in between.
Other packages' rows come through the views their owners define (``resident_settings``,
``device_languages`` of my_evacuation.residents; ``alert_event_states``, ``alert_headers`` of
alerts.events), so each statement stays one round trip.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

# The clock, the resident's preferences and the language to write titles in.
_START = """
    SELECT now() AS now,
           (SELECT preferences FROM resident_settings WHERE id = $1) AS preferences,
           COALESCE((SELECT language FROM device_languages WHERE id = $2),
                    (SELECT language FROM resident_settings WHERE id = $1)) AS language
"""

# The read horizon: the start of the oldest transaction still open in this database (now
# when none is). pg_stat_activity copies every backend's status on each read — the costliest
# part of a pull's statements when it was read in each — so the pull reads this apart, and
# reuses it for a moment (alerts.delivery.pull.read_horizon).
_HORIZON = """
    SELECT clock_timestamp() AS at, LEAST(now(), (
        SELECT min(xact_start) FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL)) AS horizon
"""

# Payloads and the event's facts are not read here: they are the same for everyone and
# come parsed from the cache (alerts.delivery.pull._documents).
_ITEMS = """
    SELECT e.id AS event_id, e.state, e.updated_at AS event_updated_at, e.in_force_until,
           a.id AS alert_id, a.source, a.category, a.msg_type, a.headline, a.severity, a.issued_at, a.expires_at, a.is_drill,
           d.status, d.rank, d.max_rank, d.held_by_quiet_hours, d.critical, d.current_location, d.place_ids,
           d.told_at, d.cleared_at, d.updated_at AS delivery_updated_at
    FROM alert_event_states e
    LEFT JOIN deliveries d ON d.event_id = e.id AND d.resident_id = $1
    JOIN alert_headers a ON a.id = COALESCE(e.latest_alert_id, d.last_alert_id)
    WHERE e.id IN (SELECT unnest($2::bigint[])
                   UNION SELECT dd.event_id FROM deliveries dd JOIN alert_event_states de ON de.id = dd.event_id
                   WHERE dd.resident_id = $1 AND (dd.updated_at > $3 OR de.updated_at > $3
                         OR (de.state IN ('active', 'updated') AND de.in_force_until > $3)))
"""


# The same for the device holding a token (``device_tokens`` of my_evacuation.residents), with
# its ids: the fast path authenticates and starts in one round trip. No row: unknown token.
_START_BY_TOKEN = """
    SELECT t.id AS device_id, t.resident_id, s.*
    FROM device_tokens t,
         LATERAL (""" + _START.replace("$1", "t.resident_id").replace("$2", "t.id") + """) s
    WHERE t.token_hash = $1
"""


async def start_by_token(raw: Any, token_hash: bytes) -> Any:
    """``device_id``, ``resident_id`` and what ``start`` reads, for the device of this token
    hash; None when no device has it."""
    return await raw.fetchrow(_START_BY_TOKEN, token_hash)


async def start(raw: Any, resident_id: int, device_id: int | None) -> Any:
    """now, preferences (raw JSON) and language (the device's, else the resident's; may be None)."""
    return await raw.fetchrow(_START, resident_id, device_id)


async def horizon(raw: Any) -> Any:
    """``at`` (the database's clock) and ``horizon`` (see ``_HORIZON``)."""
    return await raw.fetchrow(_HORIZON)


async def items(raw: Any, resident_id: int, event_ids: list[int], since: datetime) -> list[Any]:
    """The pull's rows: each of ``event_ids`` and each event the resident has a delivery of that
    changed after ``since`` or is in force then, with its latest alert's header (or the one
    the delivery last named) and the resident's delivery, if any."""
    return list(await raw.fetch(_ITEMS, resident_id, event_ids, since))
