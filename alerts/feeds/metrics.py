"""Feed metrics (``bousai_feed_*``). Every drop or refusal is counted somewhere here."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

FEED_LAG = Histogram(
    "bousai_feed_lag_seconds",
    "Atom entry updated time to alert committed",
    # JMA publishes within seconds; anything past a minute means polling or fetching fell behind.
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
)
FEED_ERRORS = Counter("bousai_feed_errors_total", "Feed and document errors", ["reason"])
FEED_BYTES = Counter("bousai_feed_bytes_total", "Bytes downloaded", ["kind"])  # kind: feed | document
FEED_DOCUMENTS = Counter("bousai_feed_documents_total", "Feed entries handled, by outcome", ["result"])
FEED_POLLS = Counter("bousai_feed_polls_total", "Feed polls, by outcome", ["result"])
FEED_BUDGET_EXHAUSTED = Counter(
    "bousai_feed_budget_exhausted_total", "Document fetches held back because the daily byte budget was spent"
)
