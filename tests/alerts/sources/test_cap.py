"""CAP 1.1/1.2 and CAP-in-Atom against the reference documents."""

from __future__ import annotations

import pytest

from alerts.sources import parse_document
from alerts.sources.safexml import NotAnAlert


def test_ipaws_cancel_without_info(parse_ref):
    d = parse_ref("cap/ipaws-5e6dd9de023f1930ef6548d9.xml")
    assert d["msg_type"] == "cancel"
    assert d["event_id"] == "AS-NV-e18921c7-1b35-4a81-9705-42d25c265ddd"  # the referenced original
    assert d["source_id"] == "bbrundage@dps.state.nv.us,AS-NV-58d33e3a-1f9a-4909-9d59-34e90b33b3e8,2019-04-19T11:46:20-06:00"


def test_polygon_becomes_geojson_lon_lat(parse_ref):
    d = parse_ref("cap/v1dot2_appendix_adot2.xml")
    ring = d["geometry"]["coordinates"][0]
    assert d["geometry"]["type"] == "Polygon"
    assert ring[0] == [-120.14, 38.47] and ring[0] == ring[-1]  # CAP "38.47,-120.14"
    assert {a["code"] for a in d["areas"]} == {"006109", "006009", "006003"}
    assert all(a["scheme"] == "SAME" for a in d["areas"])


def test_circle_becomes_polygon_and_keeps_centre(parse_ref):
    d = parse_ref("cap/v1dot2_appendix_adot3.xml")
    assert d["msg_type"] == "update" and d["event_id"] == "TRI13970876.1"
    assert d["circles"] == [{"lat": 32.9525, "lon": -115.5527, "radius_km": 0.0}]
    assert d["geometry"]["type"] == "Polygon" and len(d["geometry"]["coordinates"][0]) == 65


def test_multi_polygon_and_many_geocodes(parse_ref):
    d = parse_ref("cap/canada.cap")
    # 4 polygons in the file: the same 2 under the English and the French info.
    assert d["geometry"]["type"] == "MultiPolygon" and len(d["geometry"]["coordinates"]) == 2
    assert len(d["areas"]) == 13  # 26 geocodes = 13 per language, de-duplicated


def test_embedded_cap_in_atom(reference):
    alerts = parse_document((reference / "cap/weather.atom").read_bytes())
    assert len(alerts) == 1
    assert alerts[0].headline.startswith("Flash Flood Watch")
    assert alerts[0].category == "flood"


def test_atom_index_feed_is_a_clean_error(reference):
    with pytest.raises(NotAnAlert) as exc:
        parse_document((reference / "cap/earthquake_index.atom").read_bytes())
    assert exc.value.message == "atom feed: 1 entries, no embedded alert (use the poller)"


def test_ack_is_not_an_alert():
    doc = (b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>a</identifier><sender>s</sender>'
           b"<sent>2025-01-01T00:00:00+09:00</sent><status>Actual</status><msgType>Ack</msgType><scope>Public</scope></alert>")
    with pytest.raises(NotAnAlert):
        parse_document(doc)


def test_multi_info_prefers_japanese_and_keeps_all(parse_fixture):
    d = parse_fixture("evacuation_level4_fukushima.xml")
    assert d["headline"].startswith("【警戒レベル4】避難指示")
    assert [i["language"] for i in d["infos"]] == ["ja-JP", "en-US"]
    assert d["infos"][1]["headline"].startswith("[Alert Level 4]")
    assert len(d["areas"]) == 1  # same geocode under both languages, once
