"""``bousai bench ...``: each benchmark prints its figures and a baseline measured in the same run.

Benchmarks live with their domain and are listed here; each module exposes
``register_bench(bench_subparsers)``.
"""

from __future__ import annotations

from server.modules import optional_import

BENCH_MODULES = (
    "my_evacuation.places.bench",
    "alerts.feeds.bench",
    "my_evacuation.push.providers.bench",
    "alerts.targeting.bench",
    "alerts.e2e_bench",
    "alerts.burst_bench",
    "alerts.surge_bench",
    "my_evacuation.safety.bench",
)


def register(sub) -> None:
    bench = sub.add_parser("bench", help="benchmarks: figures plus a same-run baseline")
    bsub = bench.add_subparsers(dest="bench_command", metavar="BENCH")
    bsub.required = True
    for name in BENCH_MODULES:
        mod = optional_import(name)
        if mod is not None:
            mod.register_bench(bsub)
