"""Publishing a replay scenario into the local feed server."""

from __future__ import annotations

from alerts.feeds.replay import load_scenario, render_scenario

SCENARIO = "fukushima_quake_then_rain"


def publish_scenario(server, only: list[str] | None = None) -> dict[str, str]:
    """Publish the scenario documents (rendered now) into their feeds; returns file → entry id."""
    feeds = {d.file: d.feed for d in load_scenario(SCENARIO).documents}
    ids = {}
    for i, (file, data) in enumerate(render_scenario(SCENARIO)):
        if only is None or file in only:
            ids[file] = server.store.publish(feeds[file], f"{i:03d}_{file}", data).entry_id
    return ids
