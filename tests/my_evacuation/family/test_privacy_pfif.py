"""Privacy of the family export and of erasure (issue 12 item 5): the PFIF export never
carries a location its owner withdrew nor what a member said before joining; a group whose
owner erased their account passes to its longest member."""

from __future__ import annotations

from lxml import etree
from sqlalchemy import text

from my_evacuation.pfif import PFIF_NS
from tests.kits.family import family

NS = {"pfif": PFIF_NS}


def _notes(body: bytes) -> dict[str, list]:
    doc = etree.fromstring(body)
    return {p.findtext("pfif:full_name", namespaces=NS): p.findall("pfif:note", NS) for p in doc.findall("pfif:person", NS)}


async def test_a_withdrawn_location_is_in_no_note(client, new_resident, app):
    people, gid = await family(client, new_resident, n=2)
    (father, _), (mother, mother_id) = people
    await client.put("/v1/me/safety", headers=mother, json={"status": "evacuated", "share_location": True,
                                                             "location": {"lat": 37.74123, "lon": 140.49321}})
    await client.put("/v1/me/safety", headers=mother, json={"status": "safe", "share_location": False})
    body = (await client.get(f"/v1/groups/{gid}/pfif.xml", headers=father)).content
    assert b"37.74123" not in body and b"140.49321" not in body
    assert [n.findtext("pfif:status", namespaces=NS) for n in _notes(body)["母"]] == ["believed_alive", "is_note_author"]
    async with app.state.sessionmaker() as s:
        kept = (await s.execute(text("SELECT count(*) FROM safety_status_history WHERE resident_id = :r AND lat IS NOT NULL"),
                                {"r": mother_id})).scalar()
    assert kept == 0


async def test_notes_from_before_a_member_joined_are_not_exported(client, new_resident):
    people, gid = await family(client, new_resident, n=2)
    (father, _), _ = people
    newcomer, _, _ = await new_resident()
    await client.put("/v1/me/safety", headers=newcomer, json={"status": "need_help", "message": "入院中の母のそば"})
    code = (await client.post(f"/v1/groups/{gid}/invites", headers=father, json={})).json()["code"]
    assert (await client.post("/v1/groups/join", headers=newcomer,
                              json={"code": code, "display_name": "叔母"})).status_code == 200
    body = (await client.get(f"/v1/groups/{gid}/pfif.xml", headers=father)).content
    assert "入院中".encode() not in body and _notes(body)["叔母"] == []
    await client.put("/v1/me/safety", headers=newcomer, json={"status": "safe", "message": "合流しました"})
    notes = _notes((await client.get(f"/v1/groups/{gid}/pfif.xml", headers=father)).content)["叔母"]
    assert [n.findtext("pfif:text", namespaces=NS) for n in notes] == ["合流しました"]


async def test_an_erased_owner_hands_the_group_to_the_longest_member(client, new_resident, app):
    people, gid = await family(client, new_resident, n=3)
    (owner, owner_id), (mother, mother_id), (grandma, _) = people
    assert (await client.delete("/v1/me", headers=owner)).status_code in (200, 204)
    g = (await client.get(f"/v1/groups/{gid}", headers=grandma)).json()
    assert g["owner_id"] == mother_id
    assert [(m["display_name"], m["role"]) for m in g["members"]] == [("母", "owner"), ("祖母", "member")]
    # The new owner can manage the group.
    code = (await client.post(f"/v1/groups/{gid}/invites", headers=mother, json={})).json()["code"]
    assert code


async def test_a_group_whose_only_member_erased_their_account_is_gone(client, new_resident, app):
    owner, _, _ = await new_resident()
    gid = (await client.post("/v1/groups", headers=owner, json={"name": "ひとり", "display_name": "私"})).json()["id"]
    assert (await client.delete("/v1/me", headers=owner)).status_code in (200, 204)
    async with app.state.sessionmaker() as s:
        assert (await s.execute(text("SELECT count(*) FROM family_groups WHERE id = :g"), {"g": gid})).scalar() == 0
