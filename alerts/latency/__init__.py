"""Per-alert delivery latency from receipt (public figures, no personal data)."""
