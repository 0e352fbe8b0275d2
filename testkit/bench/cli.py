"""``bousai bench ...``: each benchmark prints its figures and a baseline measured in the same run.

Found by the kit's command shell through the ``bousai.commands`` entry point (pyproject),
so the product never imports the test kit; it runs from a checkout with the ``[bench]``
extra installed (``make bench``)."""

from __future__ import annotations

from testkit.bench import burst, e2e, feeds, places, push, safety, surge, targeting


def register(sub) -> None:
    bench = sub.add_parser("bench", help="benchmarks: figures plus a same-run baseline (a checkout with the [bench] extra)")
    bsub = bench.add_subparsers(dest="bench_command", metavar="BENCH")
    bsub.required = True
    for module in (places, feeds, push, targeting, e2e, burst, surge, safety):
        module.register_bench(bsub)
