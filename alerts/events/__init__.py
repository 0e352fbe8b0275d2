"""Alert events: each normalized document stored once, attached to its event, with an outbox row."""
