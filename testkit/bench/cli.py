"""``bousai bench ...``: each benchmark prints its figures and a baseline measured in the same run.

Found by the kit's command shell through the ``bousai.commands`` entry point (pyproject),
so the product never imports the test kit; it runs from a checkout with the ``[bench]``
extra installed (``make bench``)."""

from __future__ import annotations

from testkit.bench import burst, e2e, feeds, places, push, realtime, realtime_e2e, safety, surge, targeting


def register(sub) -> None:
    bench = sub.add_parser("bench", help="benchmarks: figures plus a same-run baseline (a checkout with the [bench] extra)")
    bsub = bench.add_subparsers(dest="bench_command", metavar="BENCH")
    bsub.required = True
    for module in (places, feeds, push, targeting, e2e, burst, surge, safety):
        module.register_bench(bsub)
    # ``--source realtime`` of ingest and e2e: the real-time variants build on the PULL
    # benches' helpers, so the dependency points one way and is wired here.
    bsub.choices["ingest"].set_defaults(realtime=realtime.cmd_ingest)
    bsub.choices["e2e"].set_defaults(realtime=realtime_e2e.cmd)
