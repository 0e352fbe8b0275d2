"""How the kit finds the domains' parts: one package walk, and hooks checked, not guessed.

The kit names no domain. It walks the product's packages once and imports the modules
whose file name says what they hold:

=============  =====================================================================
``api``        ``router`` (required); ``on_startup(app)``, ``on_shutdown(app)``,
               ``install_middleware(app)``
``tasks``      ``STREAM_HANDLERS``, ``WORKER_LOOPS``, ``WORKER_STARTUP`` (the worker);
               ``SCHEDULED_JOBS``, ``RETENTION_TASKS`` (the scheduler) — at least one
``models``     tables (imported so ``Base.metadata`` knows them)
``cli``        ``register(subparsers)`` (its commands); ``SETUP_STEPS`` (``bousai setup``
               runs each ``step(database_url, args)`` after the migrations, in package
               order); ``RUN_PROCESSES`` (``bousai run`` asks each
               ``extra(args, env)`` for ``(name, argv)`` processes to start beside
               api + worker + scheduler)
=============  =====================================================================

A hook module that defines a name shaped like a hook but not one of these
(``SCHEDULE_JOBS``, ``STREAM_HANDLER``, ``on_start``…) stops the process with
:class:`DiscoveryError` instead of silently dropping the job; so does a hook of the
wrong type, an ``api`` module without a router, or a ``tasks`` module without a hook.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from functools import cache
from types import ModuleType
from typing import Any

# The product's packages, lowest first (server is the kit; its own hook modules count).
PACKAGES = ("server", "geo", "my_evacuation", "alerts")

HOOKS: dict[str, dict[str, str]] = {
    # kind -> hook name -> what it must be ("list", "dict", "callable", "router")
    "api": {
        "router": "router",
        "on_startup": "callable",
        "on_shutdown": "callable",
        "install_middleware": "callable",
    },
    "tasks": {
        "STREAM_HANDLERS": "list",
        "WORKER_LOOPS": "list",
        "WORKER_STARTUP": "list",
        "SCHEDULED_JOBS": "list",
        "RETENTION_TASKS": "dict",
    },
    "models": {},
    "cli": {"register": "callable", "SETUP_STEPS": "list", "RUN_PROCESSES": "list"},
}
REQUIRED = {"api": ("router",)}
# The kit's own command shell is a ``cli`` module by name only: it reads the others.
SHELL = "server.cli"
# Suffixes that make an upper-case name look like a hook (a misspelt one among them).
_HOOKISH_SUFFIXES = (
    "_HANDLER",
    "_HANDLERS",
    "_LOOP",
    "_LOOPS",
    "_STARTUP",
    "_JOB",
    "_JOBS",
    "_TASK",
    "_TASKS",
)


class DiscoveryError(RuntimeError):
    """A hook module the kit cannot use as written; the message names module and hook."""


def _walk(kind: str) -> Iterator[str]:
    return (name for name in walk_all() if name.rsplit(".", 1)[-1] == kind)


def _suspicious(kind: str, module: ModuleType) -> list[str]:
    known = HOOKS[kind]
    bad = []
    for name, value in vars(module).items():
        if name in known or name.startswith("__"):
            continue
        if (
            kind == "tasks"
            and name.isupper()
            and name.endswith(_HOOKISH_SUFFIXES)
            and isinstance(value, (list, tuple, dict))
        ):
            bad.append(name)
        elif difflib.get_close_matches(name, known, n=1, cutoff=0.85):
            bad.append(name)
    return bad


def _check_type(module: ModuleType, name: str, want: str) -> None:
    value = getattr(module, name)
    ok = {
        "list": isinstance(value, (list, tuple)),
        "dict": isinstance(value, dict) and all(callable(v) for v in value.values()),
        "callable": callable(value),
        "router": hasattr(value, "routes") and hasattr(value, "include_router"),
    }[want]
    if not ok:
        raise DiscoveryError(
            f"{module.__name__}.{name} must be a {want}, not {type(value).__name__}"
        )


@cache
def modules(kind: str) -> tuple[ModuleType, ...]:
    """Every ``kind`` module of the product, imported and checked, sorted by name."""
    if kind not in HOOKS:
        raise DiscoveryError(
            f"unknown kind of module {kind!r}; the kit knows {sorted(HOOKS)}"
        )
    found = []
    for name in sorted(_walk(kind)):
        if name == SHELL:
            continue
        module = importlib.import_module(name)
        if kind == "models":
            found.append(module)
            continue
        bad = _suspicious(kind, module)
        if bad:
            raise DiscoveryError(
                f"{name} defines {', '.join(sorted(bad))}, which the kit does not read; "
                f"a {kind} module's hooks are {', '.join(HOOKS[kind])}"
            )
        present = [h for h in HOOKS[kind] if hasattr(module, h)]
        for hook in REQUIRED.get(kind, ()):
            if hook not in present:
                raise DiscoveryError(f"{name} has no {hook}")
        if not present:
            raise DiscoveryError(
                f"{name} defines none of the hooks {', '.join(HOOKS[kind])}"
            )
        for hook in present:
            _check_type(module, hook, HOOKS[kind][hook])
        found.append(module)
    return tuple(found)


def hooks(kind: str, name: str) -> list[tuple[ModuleType, Any]]:
    """``(module, value)`` for every ``kind`` module that defines hook ``name``."""
    if name not in HOOKS.get(kind, {}):
        raise DiscoveryError(f"{name!r} is not a hook of {kind} modules")
    return [(m, getattr(m, name)) for m in modules(kind) if hasattr(m, name)]


def collect(
    kind: str, name: str, item_type: type | tuple[type, ...] | None = None
) -> list[Any]:
    """Every item of list hook ``name`` across the ``kind`` modules, each checked against
    ``item_type`` (a ``ScheduledJob`` in ``WORKER_LOOPS`` is an error, not a skipped job)."""
    items: list[Any] = []
    for module, value in hooks(kind, name):
        for item in value:
            if item_type is not None and not isinstance(item, item_type):
                raise DiscoveryError(
                    f"{module.__name__}.{name} holds a {type(item).__name__}, not a {item_type}"
                )
            items.append(item)
    return items


def callables(kind: str, name: str) -> list[Callable[..., Any]]:
    return [value for _m, value in hooks(kind, name)]


def import_all_models() -> None:
    """Every ``models`` module, so ``Base.metadata`` knows all tables (Alembic, tests)."""
    modules("models")


def walk_all() -> Iterator[str]:
    """Every module name of the product's packages (for tools that look into each one)."""
    for pkg_name in PACKAGES:
        pkg = importlib.import_module(pkg_name)
        for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{pkg_name}."):
            yield info.name
