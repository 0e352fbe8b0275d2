"""CAP out: every published document is valid against the OASIS CAP 1.2 schema; the Atom feed
carries issued notices with updates and cancellations referencing their originals."""

from __future__ import annotations


from lxml import etree

from alerts.sources.cap import embedded_alerts, parse_alert
from tests.kits.staff import FUKUSHIMA
from tests.kits.cap import ATOM, CAP, XSD, assert_valid, publish_chain

def test_the_schema_catches_what_it_should():
    bad = etree.fromstring(
        b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier><sender>s</sender>'
        b"<sent>2026-11-22T10:00:00Z</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope></alert>"
    )
    assert not XSD.validate(bad)  # 'Z' is not a CAP time


async def test_feed_carries_alert_update_cancel_schema_valid(app, client):
    n, c, x, d = await publish_chain(app, client)
    r = await client.get("/v1/feeds/cap.atom")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    feed = etree.fromstring(r.content)
    entries = feed.findall(f"{ATOM}entry")
    docs = embedded_alerts(feed)
    assert len(entries) == len(docs) == 3
    for doc in docs:
        assert_valid(doc)
    by_type = {doc.findtext(f"{CAP}msgType"): doc for doc in docs}
    assert set(by_type) == {"Alert", "Update", "Cancel"}
    original = by_type["Alert"]
    ref = ",".join(original.findtext(f"{CAP}{k}") for k in ("sender", "identifier", "sent"))
    for kind in ("Update", "Cancel"):
        refs = by_type[kind].findtext(f"{CAP}references").split()
        assert refs[0] == ref  # the original first: receivers attach the message to its event
    assert len(by_type["Cancel"].findtext(f"{CAP}references").split()) == 2
    # Our own parser reads them back as the same event, level and area.
    parsed = [parse_alert(doc) for doc in docs]
    assert {p.event_id for p in parsed} == {original.findtext(f"{CAP}identifier")}
    assert {p.category for p in parsed} == {"evacuation"}
    assert sorted(p.level for p in parsed) == [3, 3, 4]
    assert all(p.geometry for p in parsed) and all(a["code"] == FUKUSHIMA for p in parsed for a in p.areas)
    # Each linked document is the same, standalone and valid.
    for e in entries:
        href = e.find(f"{ATOM}link[@rel='alternate']").get("href")
        doc = await client.get(href.replace("http://test", ""))
        assert doc.status_code == 200 and doc.headers["content-type"].startswith("application/cap+xml")
        assert_valid(etree.fromstring(doc.content))


async def test_drills_are_exercise_and_only_in_the_drill_feed(app, client):
    await publish_chain(app, client)
    feed = etree.fromstring((await client.get("/v1/feeds/cap.atom", params={"include_drills": "true"})).content)
    docs = embedded_alerts(feed)
    assert len(docs) == 4
    drills = [doc for doc in docs if doc.findtext(f"{CAP}status") == "Exercise"]
    assert len(drills) == 1
    assert_valid(drills[0])
    assert parse_alert(drills[0]).is_drill is True
    headlines = [i.findtext(f"{CAP}headline") for i in drills[0].findall(f"{CAP}info")]
    assert headlines and all("訓練" in h for h in headlines)


async def test_unknown_document_is_404(client):
    r = await client.get("/v1/feeds/cap/999999.xml")
    assert r.status_code == 404


async def test_entry_ids_are_absolute_iris(app, client):
    from urllib.parse import urlparse

    await publish_chain(app, client)
    feed = etree.fromstring((await client.get("/v1/feeds/cap.atom")).content)
    ids = [e.findtext(f"{ATOM}id") for e in feed.findall(f"{ATOM}entry")]
    assert ids and all(urlparse(i).scheme in ("http", "https") and urlparse(i).netloc for i in ids)
    assert len(set(ids)) == len(ids)
