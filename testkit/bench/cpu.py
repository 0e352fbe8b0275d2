"""Where a bench's CPU went, from /proc: the database and Redis servers by process name, and the
machine as a whole. On a shared 2-core machine a wall time means little without it: the
fan-out's time is bounded below by the CPU its work needs divided by the cores.

Processes that exit inside the window (a database connection closed) take their time with them;
the benches keep their connections open."""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def by_name(names: tuple[str, ...] = ("postgres", "redis-server")) -> dict[str, float]:
    """User + system CPU seconds of every running process whose name is one of ``names``."""
    out = dict.fromkeys(names, 0.0)
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            head, _, rest = (d / "stat").read_text().rpartition(")")
            comm = head.partition("(")[2]
            if comm in out:
                fields = rest.split()
                out[comm] += (int(fields[11]) + int(fields[12])) / _TICK
        except (OSError, IndexError, ValueError):
            continue
    return out


def tree(pid: int) -> float:
    """User + system CPU seconds of a process and its children (e.g. uvicorn and its workers)."""
    total = 0.0
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rpartition(")")[2].split()
            if int(d.name) == pid or int(fields[1]) == pid:
                total += (int(fields[11]) + int(fields[12])) / _TICK
        except (OSError, IndexError, ValueError):
            continue
    return total


def machine_busy() -> float:
    """CPU seconds all cores spent busy since boot (user, nice, system, irq, softirq, steal)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICK


def snapshot(**trees: int) -> dict[str, float]:
    """The database's and Redis's CPU, the machine's, and each named process tree's (``api=pid``)."""
    return {**by_name(), "machine": machine_busy(), **{name: tree(pid) for name, pid in trees.items()}}


def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: round(after[k] - before[k], 2) for k in before}
