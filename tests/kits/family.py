"""A family group of residents, and the notifications they were sent."""

from __future__ import annotations

from sqlalchemy import text


async def notifications(app, kind=None):
    async with app.state.sessionmaker() as s:
        sql = "SELECT resident_id, kind, dedupe_key, title, body, data, critical FROM notifications"
        rows = await s.execute(text(sql + (" WHERE kind = :k" if kind else "") + " ORDER BY id"), {"k": kind})
        return [dict(r._mapping) for r in rows]


async def family(client, new_resident, n=3, languages=None):
    """A group of n residents; returns [(headers, resident_id)], group id."""
    people = [await new_resident(language=(languages or ["ja"] * n)[i]) for i in range(n)]
    owner = people[0][0]
    g = (await client.post("/v1/groups", headers=owner, json={"name": "山田家", "display_name": "父"})).json()
    names = ["母", "祖母", "兄", "姉"]
    for i, (h, _, _) in enumerate(people[1:]):
        code = (await client.post(f"/v1/groups/{g['id']}/invites", headers=owner, json={})).json()["code"]
        r = await client.post("/v1/groups/join", headers=h, json={"code": code, "display_name": names[i]})
        assert r.status_code == 200, r.text
    return [(h, rid) for h, rid, _ in people], g["id"]
