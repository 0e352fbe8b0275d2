"""``bousai areas locate``: the fixed output contract, and real GSI shelter points."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from tests.kits.paths import REFERENCE, REPO

GSI = REFERENCE / "shelters" / "gsi_fukushima"


def run_cli(args, db_url, stdin=None):
    env = {**os.environ, "BOUSAI_DATABASE_URL": db_url}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "areas", "locate", *args],
        input=stdin, capture_output=True, text=True, env=env, cwd=REPO, timeout=120,
    )


def test_single_point_prints_municipality(db_url):
    r = run_cli(["37.7608", "140.4747"], db_url)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["municipality"] == {"code": "072010", "name": "福島市"}
    assert out["jma_city"]["code"] == "0720100"


def test_csv_keeps_order_and_marks_outside_and_bad_rows(db_url, tmp_path):
    f = tmp_path / "points.csv"
    f.write_text("lat,lon\n37.0,140.88\n35.68,139.76\nnorth,140\n37.4960,139.9290\n", encoding="utf-8")
    r = run_cli(["--input", str(f)], db_url)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(lines) == 4
    assert lines[0]["municipality"]["code"] == "072044"  # いわき市
    assert lines[1]["municipality"] is None  # Tokyo
    assert lines[2]["municipality"] is None and lines[2]["line"] == 4 and "error" in lines[2]
    assert lines[3]["municipality"]["code"] == "072028"  # 会津若松市


def test_csv_without_lat_lon_header_is_a_clear_error(db_url, tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("x,y\n1,2\n", encoding="utf-8")
    r = run_cli(["--input", str(f)], db_url)
    assert r.returncode == 2
    assert "lat,lon" in r.stderr


def test_gsi_shelters_resolve_to_their_publishing_municipality(db_url, tmp_path):
    import pytest

    if not GSI.exists():
        pytest.skip(f"reference data not available at {GSI}")
    expected, rows = [], ["lat,lon"]
    for path in sorted(GSI.glob("*/*.json")):
        for feat in json.loads(path.read_text(encoding="utf-8"))["features"]:
            lon, lat = feat["geometry"]["coordinates"][:2]
            rows.append(f"{lat},{lon}")
            expected.append(path.stem)
    f = tmp_path / "gsi.csv"
    f.write_text("\n".join(rows) + "\n", encoding="utf-8")
    r = run_cli(["--input", str(f)], db_url)
    assert r.returncode == 0, r.stderr
    got = [json.loads(x)["municipality"] for x in r.stdout.splitlines()]
    assert len(got) == len(expected) > 3000
    assert all(m is not None for m in got), "every GSI point must resolve"
    hits = sum(1 for m, code in zip(got, expected) if m["code"] == code)
    assert hits / len(expected) >= 0.98, f"{hits}/{len(expected)}"


def test_without_a_database_the_shipped_fixture_answers_the_same(db_url):
    missing = db_url.rsplit("/", 1)[0] + "/bousai_does_not_exist"
    r = run_cli(["37.7608", "140.4747"], missing)
    assert r.returncode == 0
    assert json.loads(r.stdout)["municipality"]["code"] == "072010"
    assert "shipped fixture" in r.stderr
