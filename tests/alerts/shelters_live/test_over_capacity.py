"""Occupancy above capacity is accepted and flagged (issue 12 item 14): during a disaster the
people are there; the operator sees ``over_capacity: true`` and crowding "full". Three times
the capacity is a typo and a clear 400."""

from __future__ import annotations

from tests.kits.shelters_live import S_FUK, add_live_shelters
from tests.kits.staff import FUKUSHIMA, staff_headers


async def test_occupancy_above_capacity_is_accepted_and_flagged(app, client, engine):
    await add_live_shelters(engine)  # capacity 100
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    r = await client.patch(f"/v1/staff/shelters/{S_FUK}", headers=op, json={"occupancy": 80})
    assert r.status_code == 200 and r.json()["over_capacity"] is False
    r = await client.patch(f"/v1/staff/shelters/{S_FUK}", headers=op, json={"occupancy": 130})
    assert r.status_code == 200, r.text
    assert r.json()["occupancy"] == 130 and r.json()["over_capacity"] is True and r.json()["crowding"] == "full"
    assert (await client.get(f"/v1/staff/shelters/{S_FUK}", headers=op)).json()["over_capacity"] is True


async def test_three_times_the_capacity_is_refused_with_the_limit(app, client, engine):
    await add_live_shelters(engine)
    op = await staff_headers(app, client, "municipal", FUKUSHIMA)
    r = await client.patch(f"/v1/staff/shelters/{S_FUK}", headers=op, json={"occupancy": 301})
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_occupancy" and r.json()["detail"] == {"occupancy": 301, "capacity": 100, "max": 300}
    # Lowering the capacity under the occupancy already there is the same report, flagged.
    await client.patch(f"/v1/staff/shelters/{S_FUK}", headers=op, json={"occupancy": 90})
    r = await client.patch(f"/v1/staff/shelters/{S_FUK}", headers=op, json={"capacity": 60})
    assert r.status_code == 200 and r.json()["over_capacity"] is True
