"""Messages to residents that are not alerts (family statuses, "Are you safe?"), and the
per-device push log shared with alert deliveries."""
