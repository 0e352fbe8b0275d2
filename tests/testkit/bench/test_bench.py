"""``bousai bench push`` runs end to end on a small count and prints a JSON last line."""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_push_small_run_prints_figures_and_loses_nothing():
    proc = subprocess.run(
        [sys.executable, "-m", "testkit.bench.push", "push", "--messages", "600", "--baseline-messages", "200", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    last = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("messages", "seconds", "msg_per_s", "baseline_msg_per_s", "lost", "duplicates"):
        assert key in last
    assert last["messages"] == 600
    assert last["lost"] == 0 and last["duplicates"] == 0
    assert last["dead_tokens_reported"] == 6  # 1% of the fault phase
    assert last["baseline_faults_not_delivered"] > 0  # the stock path drops what it does not retry
