"""Where the repository and the shared reference data are."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO.parent / "shared" / "reference"
FIXTURES_CAP = REPO / "fixtures" / "cap"


def reference_path(*parts: str) -> Path:
    p = REFERENCE.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"reference data not available at {p} (../shared/reference is absent)")
    return p
