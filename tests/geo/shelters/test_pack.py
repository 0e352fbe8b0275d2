"""GET /v1/shelters/pack: the offline bundle, its ETag, and 304 when unchanged."""

from __future__ import annotations

from geo.shelters.models import HAZARDS
from tests.kits.shelters import shelter


async def test_pack_carries_position_hazards_capacity_and_is_versioned(client, add_shelters):
    await add_shelters(
        shelter("072010:1", 37.75, 140.47, hazards=("flood", "earthquake"), capacity=480, is_evacuation_center=True),
        shelter("072010:2", 37.76, 140.48, hazards=("tsunami",)),
        shelter("072044:1", 37.05, 140.88, hazards=(), code="072044", is_evacuation_center=True),
    )
    r = await client.get("/v1/shelters/pack", params={"municipality": "072010"})
    assert r.status_code == 200, r.text
    pack = r.json()
    etag = r.headers["etag"]
    assert etag == f'"{pack["version"]}"' and pack["count"] == 2 and pack["hazards"] == list(HAZARDS)
    rows = [dict(zip(pack["fields"], row)) for row in pack["shelters"]]
    first = rows[0]
    assert (first["id"], first["lat"], first["lon"], first["capacity"]) == ("072010:1", 37.75, 140.47, 480)
    assert first["hazards"] == (1 << HAZARDS.index("flood")) | (1 << HAZARDS.index("earthquake"))
    assert first["flags"] == pack["flags"]["emergency_site"] | pack["flags"]["evacuation_center"]
    # Unchanged: 304 without a body. The whole prefecture is its own pack.
    r = await client.get("/v1/shelters/pack", params={"municipality": "072010"}, headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b""
    whole = await client.get("/v1/shelters/pack", headers={"Accept-Encoding": "gzip"})
    assert whole.headers["content-encoding"] == "gzip" and whole.headers["vary"] == "Accept-Encoding"
    assert whole.json()["count"] == 3 and whole.headers["etag"] != etag
    # A change to what the pack carries gives a new version; live status (occupancy) does not.
    await add_shelters(status={"072010:1": {"occupancy": 100}})
    assert (await client.get("/v1/shelters/pack", params={"municipality": "072010"})).headers["etag"] == etag
    await add_shelters(shelter("072010:2", 37.76, 140.48, hazards=("tsunami", "flood")))
    r = await client.get("/v1/shelters/pack", params={"municipality": "072010"}, headers={"If-None-Match": etag})
    assert r.status_code == 200 and r.headers["etag"] != etag


async def test_pack_refuses_bad_or_unknown_municipalities_with_a_message(client, add_shelters):
    await add_shelters(shelter("072010:1", 37.75, 140.47))
    r = await client.get("/v1/shelters/pack", params={"municipality": "abc"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_municipality"
    r = await client.get("/v1/shelters/pack", params={"municipality": "079999"})
    assert r.status_code == 404
