"""Hostile and broken input: every case is refused with a clear DocumentError code,
fast, without touching files or the network."""

from __future__ import annotations

import io
import socket
import threading
import time

import pytest

from alerts.sources import parse_document
from alerts.sources.safexml import (
    BadEncoding,
    DocumentError,
    DocumentTooDeep,
    DocumentTooLarge,
    EmptyDocument,
    ForbiddenDTD,
    MalformedDocument,
    UnsupportedDocument,
    parse_xml,
    read_capped,
)

JMA_HEAD = (
    '<Report xmlns="http://xml.kishou.go.jp/jmaxml1/"><Control><Title>震度速報</Title>'
    "<DateTime>2024-01-01T07:12:00Z</DateTime><Status>通常</Status><EditorialOffice>気象庁本庁</EditorialOffice>"
    "</Control><Head xmlns=\"http://xml.kishou.go.jp/jmaxml1/informationBasis1/\"><Title>震度速報</Title>"
    "<ReportDateTime>2024-01-01T16:12:00+09:00</ReportDateTime><EventID>1</EventID><InfoType>発表</InfoType>"
    "<Serial>1</Serial><InfoKind>震度速報</InfoKind><Headline><Text>{text}</Text></Headline></Head></Report>"
)


def test_billion_laughs_is_refused_before_expansion():
    lol = ['<!DOCTYPE lolz [<!ENTITY lol "lol">']
    for i in range(1, 10):
        lol.append(f'<!ENTITY lol{i} "' + f"&lol{i - 1 if i > 1 else ''};" * 10 + '">')
    doc = ("".join(lol) + ']><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">&lol9;</alert>').encode()
    t0 = time.perf_counter()
    with pytest.raises(ForbiddenDTD) as exc:
        parse_xml(doc)
    assert exc.value.code == "dtd_forbidden"
    assert time.perf_counter() - t0 < 0.5


def test_external_file_entity_is_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT-42")
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
        + JMA_HEAD.format(text="&x;")
    ).encode()
    with pytest.raises(ForbiddenDTD) as exc:
        parse_document(doc)
    assert "TOP-SECRET" not in str(exc.value) and "TOP-SECRET" not in exc.value.message


def test_external_file_entity_without_doctype_prefix_tricks(tmp_path):
    # A comment and a PI before the DOCTYPE must not hide it.
    secret = tmp_path / "s.txt"
    secret.write_text("HIDDEN")
    doc = (
        f'<?xml version="1.0"?>\n<!-- hi --><?pi x?>\n<!doctype r SYSTEM "file://{secret}">'
        + JMA_HEAD.format(text="x")
    ).encode()
    with pytest.raises(ForbiddenDTD):
        parse_xml(doc)


def test_external_http_entity_makes_no_connection():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    srv.settimeout(0.1)
    port = srv.getsockname()[1]
    connections = []

    def accept():
        deadline = time.time() + 1.5
        while time.time() < deadline:
            try:
                conn, _ = srv.accept()
                connections.append(conn)
            except OSError:
                pass

    th = threading.Thread(target=accept)
    th.start()
    try:
        for doc in (
            f'<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:{port}/x">]>' + JMA_HEAD.format(text="&x;"),
            f'<!DOCTYPE r SYSTEM "http://127.0.0.1:{port}/r.dtd">' + JMA_HEAD.format(text="x"),
            f'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p">%p;]>' + JMA_HEAD.format(text="x"),
        ):
            with pytest.raises(ForbiddenDTD):
                parse_document(doc.encode())
        th.join()
    finally:
        srv.close()
    assert connections == []


def test_fifty_megabytes_is_refused_by_size_fast():
    big = b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">' + b"<note>" + b"a" * (50 * 1024 * 1024) + b"</note></alert>"
    t0 = time.perf_counter()
    with pytest.raises(DocumentTooLarge) as exc:
        parse_document(big)
    assert exc.value.code == "too_large"
    assert time.perf_counter() - t0 < 0.5


def test_streamed_fifty_megabytes_stops_reading_at_the_cap():
    class Endless(io.RawIOBase):
        def __init__(self):
            self.served = 0

        def readable(self):
            return True

        def read(self, n=-1):
            n = 65536 if n is None or n < 0 else n
            if self.served >= 50 * 1024 * 1024:
                return b""
            self.served += n
            return b"a" * n

    s = Endless()
    with pytest.raises(DocumentTooLarge):
        read_capped(s, max_bytes=10 * 1024 * 1024)
    assert s.served <= 10 * 1024 * 1024 + 65536


def test_hundred_thousand_levels_deep_is_refused():
    n = 100_000
    doc = b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">' + b"<a>" * n + b"</a>" * n + b"</alert>"
    t0 = time.perf_counter()
    with pytest.raises(DocumentTooDeep) as exc:
        parse_xml(doc)
    assert exc.value.code == "too_deep"
    assert time.perf_counter() - t0 < 1.0


def test_depth_cap_is_ours_not_only_libxml2s():
    doc = b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">' + b"<a>" * 100 + b"</a>" * 100 + b"</alert>"
    with pytest.raises(DocumentTooDeep):
        parse_xml(doc)


def test_truncated_xml_is_malformed():
    doc = JMA_HEAD.format(text="地震").encode()[:-40]
    with pytest.raises(MalformedDocument) as exc:
        parse_document(doc)
    assert exc.value.code == "malformed_xml"
    assert "truncated" in exc.value.message or "malformed" in exc.value.message


def test_wrong_root_namespace_is_unsupported():
    with pytest.raises(UnsupportedDocument) as exc:
        parse_document(b'<Report xmlns="http://example.com/not-jma/"><x/></Report>')
    assert exc.value.code == "unsupported_document"
    with pytest.raises(UnsupportedDocument):
        parse_document(b"<html><body>hi</body></html>")


def test_invalid_utf8_bytes_are_refused():
    doc = JMA_HEAD.format(text="地震").encode().replace("地震".encode(), b"\xff\xfe\xc3\x28")
    with pytest.raises(BadEncoding) as exc:
        parse_document(doc)
    assert exc.value.code == "bad_encoding"


def test_garbage_bytes_are_refused():
    with pytest.raises(DocumentError):
        parse_document(bytes(range(256)) * 10)


def test_valid_shift_jis_is_decoded():
    doc = ('<?xml version="1.0" encoding="Shift_JIS"?>' + JMA_HEAD.format(text="福島県で地震がありました①")).encode("cp932")
    [alert] = parse_document(doc)
    assert alert.headline == "福島県で地震がありました①"


def test_shift_jis_declared_but_invalid_bytes_is_refused():
    doc = ('<?xml version="1.0" encoding="Shift_JIS"?>' + JMA_HEAD.format(text="X")).encode("cp932") .replace(b"X", b"\x81\x7f\xa0\xfd")
    with pytest.raises(BadEncoding):
        parse_document(doc)


def test_unknown_declared_encoding_is_refused():
    with pytest.raises(BadEncoding):
        parse_document(b'<?xml version="1.0" encoding="x-klingon"?><alert/>')


@pytest.mark.parametrize("data", [b"", b"   \n\t ", None])
def test_empty_input_is_refused(data):
    with pytest.raises(EmptyDocument) as exc:
        parse_document(data)
    assert exc.value.code == "empty_document"


def test_doctype_quoted_inside_cdata_is_not_a_false_alarm():
    doc = (
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>i</identifier><sender>s</sender>'
        "<sent>2025-01-01T00:00:00+09:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>"
        "<info><event>x</event><description><![CDATA[<!DOCTYPE html><p>hi</p>]]></description></info></alert>"
    ).encode()
    [a] = parse_document(doc)
    assert "<!DOCTYPE html>" in a.text
