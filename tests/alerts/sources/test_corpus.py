"""Every reference document through ``run_parse``: each yields alert lines or one
clean error line, every alert line meets the contract, and nothing escapes."""

from __future__ import annotations

import io

import orjson

from alerts.sources.cli import parse_throughput, run_parse
from alerts.sources.normalized import validate_alert_dict


def test_every_reference_document_parses_to_contract(reference):
    files = sorted(p for d in ("jmaxml", "cap") for p in (reference / d).rglob("*") if p.is_file())
    assert len(files) > 250
    out = io.StringIO()
    rc = run_parse([str(reference / "jmaxml"), str(reference / "cap")], out=out)
    assert rc == 0
    lines = [orjson.loads(line) for line in out.getvalue().splitlines()]
    by_file: dict[str, list[dict]] = {}
    for d in lines:
        by_file.setdefault(d["file"], []).append(d)
    assert set(by_file) == {str(f) for f in files}
    problems = []
    for f, ds in by_file.items():
        errors = [d for d in ds if "error" in d]
        if errors:
            assert len(ds) == 1 and errors[0]["code"] != "internal_error", (f, errors)
            continue
        for d in ds:
            problems += [f"{f}: {p}" for p in validate_alert_dict(d)]
    assert problems == []
    # Only Atom index feeds (no embedded alert) are expected to be error lines here.
    assert all(d["code"] == "not_an_alert" for d in lines if "error" in d)


def test_missing_file_is_an_error_line_and_rc_1(tmp_path):
    out = io.StringIO()
    assert run_parse([str(tmp_path / "nope.xml")], out=out) == 1
    assert orjson.loads(out.getvalue())["code"] == "not_found"


def test_bad_file_does_not_stop_the_rest(tmp_path, reference):
    (tmp_path / "a_bad.xml").write_bytes(b"<oops")
    (tmp_path / "b_good.xml").write_bytes((reference / "jmaxml/real/20210216143410_0_VXSE53_010000.xml").read_bytes())
    out = io.StringIO()
    assert run_parse([str(tmp_path)], out=out) == 0
    first, second = [orjson.loads(x) for x in out.getvalue().splitlines()]
    assert first["code"] == "malformed_xml" and second["category"] == "earthquake"


def test_throughput_reports_documents_per_second(reference):
    r = parse_throughput([str(reference / "jmaxml" / "real")], repeat=1)
    assert r["documents"] == r["files"] > 0 and r["docs_per_second"] > 0
