"""``bousai`` command line. Each domain adds its commands through ``register(subparsers)``.

Output contracts of ``areas locate`` and ``parse`` are fixed: other tools depend on them.
"""

from __future__ import annotations

import argparse
import sys

from server.modules import optional_import

# Modules that contribute subcommands; each defines register(subparsers) and sets
# ``func`` (args -> exit code) on its parsers. Listed here so ``bousai --help`` is complete.
COMMAND_MODULES = (
    "server.commands",
    "server.staff.cli",
    "geo.cli",
    "alerts.sources.cli",
    "alerts.feeds.cli",
    "alerts.demo",
    "alerts.simulate",
    "server.bench",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bousai", description="Fukushima disaster-prevention backend")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        mod = optional_import(name)
        if mod is not None:  # a domain not built yet; the rest still work
            mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        rc = args.func(args)
    except KeyboardInterrupt:
        return 130
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
