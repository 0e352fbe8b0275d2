"""PFIF 1.4 export (validated against the 1.4 structure) and the resident's JSON export."""

from __future__ import annotations

from lxml import etree

from my_evacuation.pfif import PFIF_NS
from tests.kits.residents import WATARI, shelter_record
from tests.kits.family import family

# PFIF 1.4 (http://zesty.ca/pfif/1.4/) written down from the spec: element order, required
# fields, the note status vocabulary, and UTC dates.
_PERSON_FIELDS = ["person_record_id", "entry_date", "expiry_date", "author_name", "author_email", "author_phone",
                  "source_name", "source_date", "source_url", "full_name", "given_name", "family_name",
                  "alternate_names", "description", "sex", "date_of_birth", "age", "home_street",
                  "home_neighborhood", "home_city", "home_state", "home_postal_code", "home_country", "photo_url",
                  "profile_urls"]
_NOTE_FIELDS = ["note_record_id", "person_record_id", "linked_person_record_id", "entry_date", "author_name",
                "author_email", "author_phone", "source_date", "author_made_contact", "status",
                "email_of_found_person", "phone_of_found_person", "last_known_location", "text", "photo_url"]
_REQUIRED = {"person_record_id", "full_name", "note_record_id", "author_name", "source_date"}
_TYPES = {"entry_date": "utcDate", "expiry_date": "utcDate", "source_date": "utcDate", "status": "noteStatus",
          "author_made_contact": "xs:boolean", "sex": "sexType"}


def _seq(fields, note_parent=False):
    out = []
    for f in fields:
        occurs = "" if f in _REQUIRED else ' minOccurs="0"'
        typ = _TYPES.get(f, "xs:string")
        typ = typ if typ.startswith("xs:") else f"pfif:{typ}"
        out.append(f'<xs:element name="{f}" type="{typ}"{occurs}/>')
    if note_parent:
        out.append('<xs:element name="note" type="pfif:noteType" minOccurs="0" maxOccurs="unbounded"/>')
    return "".join(out)


PFIF_14_XSD = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:pfif="{PFIF_NS}"
  targetNamespace="{PFIF_NS}" elementFormDefault="qualified">
  <xs:simpleType name="utcDate"><xs:restriction base="xs:dateTime">
    <xs:pattern value="\\d{{4}}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="noteStatus"><xs:restriction base="xs:string">
    <xs:enumeration value="information_sought"/><xs:enumeration value="is_note_author"/>
    <xs:enumeration value="believed_alive"/><xs:enumeration value="believed_missing"/>
    <xs:enumeration value="believed_dead"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="sexType"><xs:restriction base="xs:string">
    <xs:enumeration value="female"/><xs:enumeration value="male"/><xs:enumeration value="other"/>
  </xs:restriction></xs:simpleType>
  <xs:complexType name="noteType"><xs:sequence>{_seq(_NOTE_FIELDS)}</xs:sequence></xs:complexType>
  <xs:complexType name="personType"><xs:sequence>{_seq(_PERSON_FIELDS, note_parent=True)}</xs:sequence></xs:complexType>
  <xs:element name="pfif"><xs:complexType><xs:sequence>
    <xs:element name="person" type="pfif:personType" minOccurs="0" maxOccurs="unbounded"/>
    <xs:element name="note" type="pfif:noteType" minOccurs="0" maxOccurs="unbounded"/>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>"""

SCHEMA = etree.XMLSchema(etree.fromstring(PFIF_14_XSD.encode()))
NS = {"pfif": PFIF_NS}


async def test_pfif_export_validates_and_maps_statuses(client, new_resident, add_shelters):
    await add_shelters(shelter_record("S1", *WATARI, name="渡利小学校"))
    people, gid = await family(client, new_resident)
    (father, _), (mother, _), (grandma, _) = people
    await client.put("/v1/me/safety", headers=father, json={"status": "safe", "message": "無事"})
    await client.put("/v1/me/safety", headers=mother, json={"status": "at_shelter", "shelter_id": "S1"})
    await client.put("/v1/me/safety", headers=grandma, json={"status": "need_help", "share_location": True,
                                                              "location": {"lat": 37.74, "lon": 140.49}})
    # Still sharing (a status without sharing withdraws every location: test_privacy_pfif.py).
    await client.put("/v1/me/safety", headers=grandma, json={"status": "unknown", "share_location": True,
                                                              "location": {"lat": 37.75, "lon": 140.5}})
    r = await client.get(f"/v1/groups/{gid}/pfif.xml", headers=mother)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    doc = etree.fromstring(r.content)
    SCHEMA.assertValid(doc)
    persons = doc.findall("pfif:person", NS)
    assert [p.findtext("pfif:full_name", namespaces=NS) for p in persons] == ["父", "母", "祖母"]
    statuses = [[n.findtext("pfif:status", namespaces=NS) for n in p.findall("pfif:note", NS)] for p in persons]
    assert statuses == [["is_note_author"], ["believed_alive"], ["believed_alive", "information_sought"]]
    mother_note = persons[1].find("pfif:note", NS)
    assert mother_note.findtext("pfif:last_known_location", namespaces=NS) == "渡利小学校"
    grandma_first = persons[2].findall("pfif:note", NS)[0]
    assert grandma_first.findtext("pfif:last_known_location", namespaces=NS) == "37.74000,140.49000"
    assert grandma_first.findtext("pfif:text", namespaces=NS) == "Needs help."


async def test_pfif_without_opt_in_has_no_location(client, new_resident):
    people, gid = await family(client, new_resident, n=2)
    await client.put("/v1/me/safety", headers=people[0][0], json={"status": "evacuated"})
    body = (await client.get(f"/v1/groups/{gid}/pfif.xml", headers=people[1][0])).content
    SCHEMA.assertValid(etree.fromstring(body))
    assert b"last_known_location" not in body


async def test_schema_rejects_a_broken_document():
    bad = etree.fromstring(f'<pfif:pfif xmlns:pfif="{PFIF_NS}"><pfif:person><pfif:full_name>x</pfif:full_name>'
                           f'<pfif:person_record_id>a/b</pfif:person_record_id></pfif:person></pfif:pfif>'.encode())
    assert not SCHEMA.validate(bad)


async def test_json_export_has_plan_history_places_and_statuses(client, new_resident, full_plan, add_shelters):
    await add_shelters(shelter_record("S-SCHOOL", *WATARI, hazards=("flood",)))
    people, gid = await family(client, new_resident, n=2)
    me = people[0][0]
    await client.put("/v1/me/plan", headers=me, json=full_plan)
    await client.put("/v1/me/plan", headers=me, json={**full_plan, "items": ["水"]})
    await client.put("/v1/me/safety", headers=me, json={"status": "safe"})
    out = (await client.get("/v1/me/export", headers=me)).json()
    assert [v["version"] for v in out["plans"][0]["versions"]] == [1, 2]
    assert out["plans"][0]["versions"][0]["body"] == full_plan
    assert out["places"][0]["kind"] == "home"
    assert out["safety_status"]["status"] == "safe" and len(out["safety_status_history"]) == 1
    assert out["groups"][0]["id"] == gid
    other = (await client.get("/v1/me/export", headers=people[1][0])).json()
    assert other["plans"] == [] and other["safety_status"] is None
