"""The feed allow-list names origins, not just hosts (issue 12, item 10): a link to another port
of an allowed host (Redis, an admin console) is off-site and refused."""

from __future__ import annotations


def test_links_are_allowed_by_host_and_port(poller, feed_server):
    feed = feed_server.feed_url("extra")
    poller.settings = poller.settings.model_copy(update={"feed_allowed_hosts": ["www.data.jma.go.jp", "cdn.example:8443"]})
    allowed = poller._allowed_link
    assert allowed(feed, f"{feed_server.base_url}/data/x.xml")
    assert allowed(feed, "https://www.data.jma.go.jp/developer/xml/data/x.xml")
    assert allowed(feed, "http://www.data.jma.go.jp:80/x.xml")
    assert allowed(feed, "https://cdn.example:8443/x.xml")
    port = int(feed_server.base_url.rsplit(":", 1)[1])
    for link in (f"http://127.0.0.1:{port + 1}/data/x.xml", "http://www.data.jma.go.jp:6379/", "https://cdn.example/x.xml",
                 "http://www.data.jma.go.jp:99999/x", "ftp://www.data.jma.go.jp/x", "http://evil.example/x"):
        assert not allowed(feed, link), link
