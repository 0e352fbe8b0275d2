"""Where a bench's CPU went, from /proc: the database and Redis servers by process name, and the
machine as a whole. On a shared 2-core machine a wall time means little without it: the
fan-out's time is bounded below by the CPU its work needs divided by the cores.

Processes that exit inside the window (a database connection closed) take their time with them;
the benches keep their connections open."""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _processes():
    """(pid, name, parent pid, user + system CPU seconds) of every running process."""
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            head, _, rest = (d / "stat").read_text().rpartition(")")
            fields = rest.split()
            yield int(d.name), head.partition("(")[2], int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK
        except (OSError, IndexError, ValueError):
            continue


def by_name(names: tuple[str, ...] = ("postgres", "redis-server"), trees: dict[str, int] | None = None) -> dict[str, float]:
    """User + system CPU seconds of every running process whose name is one of ``names``, and of
    each process tree in ``trees`` (``{"api": pid}``: the process and its children, e.g. uvicorn
    and its workers), from one pass over /proc."""
    trees = trees or {}
    out = dict.fromkeys([*names, *trees], 0.0)
    for pid, name, ppid, cpu in _processes():
        if name in names:
            out[name] += cpu
        for key, root in trees.items():
            if root in (pid, ppid):
                out[key] += cpu
    return out


def machine_busy() -> float:
    """CPU seconds all cores spent busy since boot (user, nice, system, irq, softirq, steal)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICK


def snapshot(**trees: int) -> dict[str, float]:
    """The database's and Redis's CPU, the machine's, and each named process tree's (``api=pid``)."""
    return {**by_name(trees=trees), "machine": machine_busy()}


def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: round(after[k] - before[k], 2) for k in before}
