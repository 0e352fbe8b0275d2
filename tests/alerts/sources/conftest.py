"""Shared fixtures for the feed-parser tests. Reference documents are read from
``../shared/reference`` (never copied into the repo); tests skip when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kits.paths import FIXTURES_CAP, REFERENCE


@pytest.fixture(scope="session")
def reference() -> Path:
    if not (REFERENCE / "jmaxml").is_dir():
        pytest.skip(f"reference set not found at {REFERENCE} (../shared/reference is optional)")
    return REFERENCE


@pytest.fixture(scope="session")
def parse_ref(reference):
    """parse_ref("jmaxml/real/x.xml") -> the single alert as a dict."""
    from alerts.sources import parse_document

    def _parse(rel: str) -> dict:
        path = reference / rel
        if not path.is_file():
            pytest.skip(f"reference file missing: {rel}")
        alerts = parse_document(path.read_bytes(), file=str(path))
        assert len(alerts) == 1, rel
        return alerts[0].to_dict()

    return _parse


@pytest.fixture(scope="session")
def parse_fixture():
    from alerts.sources import parse_document

    def _parse(name: str) -> dict:
        path = FIXTURES_CAP / name
        alerts = parse_document(path.read_bytes(), file=str(path))
        assert len(alerts) == 1
        return alerts[0].to_dict()

    return _parse
