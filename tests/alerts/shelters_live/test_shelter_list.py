"""Staff shelter list: search by name / kana / address / id, paging past 500, total in a header."""

from __future__ import annotations

from sqlalchemy import text

from tests.kits.staff import FUKUSHIMA, KORIYAMA, staff_headers


async def test_search_and_page_through_all_shelters_in_scope(app, client, engine):
    async with engine.begin() as conn:
        await conn.execute(text(
            """INSERT INTO shelters (id, name, address, municipality_code, geom, source)
               SELECT :m || ':' || g, '避難所' || g, '福島市渡利' || g, :m,
                      ST_SetSRID(ST_MakePoint(140.4 + g * 0.0001, 37.7), 4326), 'staff'
               FROM generate_series(1, 1200) g"""), {"m": FUKUSHIMA})
        await conn.execute(text(
            "INSERT INTO shelters (id, name, municipality_code, geom, source) VALUES "
            "('072036:1', '郡山第１小学校', :k, ST_SetSRID(ST_MakePoint(140.3, 37.4), 4326), 'staff')"), {"k": KORIYAMA})
    pref = await staff_headers(app, client, "prefecture")
    seen = []
    for offset in range(0, 1300, 500):
        r = await client.get("/v1/staff/shelters", headers=pref, params={"limit": 500, "offset": offset})
        assert r.status_code == 200 and r.headers["x-total-count"] == "1201"
        seen += [s["id"] for s in r.json()]
    assert len(seen) == len(set(seen)) == 1201
    # Full-width digits find the half-width ones (NFKC), and the kana/address/id columns count.
    r = await client.get("/v1/staff/shelters", headers=pref, params={"q": "第1小"})
    assert [s["id"] for s in r.json()] == ["072036:1"]
    r = await client.get("/v1/staff/shelters", headers=pref, params={"q": "渡利１１９９"})
    assert [s["id"] for s in r.json()] == [f"{FUKUSHIMA}:1199"]
    r = await client.get("/v1/staff/shelters", headers=pref, params={"q": "100%_"})
    assert r.status_code == 200 and r.json() == [] and r.headers["x-total-count"] == "0"
    # A municipal operator searches only their own municipality.
    op = await staff_headers(app, client, "municipal", KORIYAMA)
    r = await client.get("/v1/staff/shelters", headers=op, params={"q": "避難所"})
    assert r.json() == [] and r.headers["x-total-count"] == "0"
