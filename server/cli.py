"""``bousai`` command line: the kit's commands, then each domain's ``cli.py`` ``register(subparsers)``.

Output contracts of ``areas locate`` and ``parse`` are fixed: other tools depend on them.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points

from server import discovery

# The kit's own commands come first; every domain's ``cli.py`` adds its own through
# ``register(subparsers)`` (``server.discovery``), so ``bousai --help`` is complete.


def _plugins(sub) -> None:
    """Commands other distributions of the project add (the test kit's ``bench``): the
    ``bousai.commands`` entry points; one whose module cannot be imported here (the
    ``[bench]`` extra not installed, no checkout) is left out with a note."""
    for ep in entry_points(group="bousai.commands"):
        try:
            register = ep.load()
        except ImportError as exc:
            note = f"{ep.name}: not available here ({exc.name or exc} cannot be imported): run it from a checkout with the [bench] extra"
            p = sub.add_parser(ep.name, help=note, description=note)
            p.set_defaults(func=lambda _args, note=note: print(note, file=sys.stderr) or 2)
            continue
        register(sub)


def build_parser() -> argparse.ArgumentParser:
    from server import commands

    parser = argparse.ArgumentParser(prog="bousai", description="Fukushima disaster-prevention backend")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    commands.register(sub)
    for register in discovery.callables("cli", "register"):
        register(sub)
    _plugins(sub)
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
