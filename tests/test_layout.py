"""The house rules of the code layout (README "How the code is laid out"), read from the
source itself, so a move that breaks one fails here rather than in a newcomer's head:

- no import cycles between modules (the test kit's included);
- ``server/`` is the kit: it imports no domain; geo imports neither my_evacuation nor
  alerts; my_evacuation imports from alerts only the facts model (``alerts.facts``, a leaf);
  no product module imports the test kit;
- only repository modules run SQL (models declare tables; migrations, the kit's own
  infrastructure statements and the test kit aside);
- every table has one owner — the package whose ``models.py`` declares it — and SQL names
  only its own package's tables (or a view another package's ``models.py`` lists in
  ``VIEWS`` for others to read).
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("server", "geo", "my_evacuation", "alerts")
DOMAINS = ("geo", "my_evacuation", "alerts")
# The kit's own infrastructure statements (health checks, LISTEN/NOTIFY, database set-up):
# they name no domain table (the ownership rule below still reads them).
KIT_SQL = {"server.app", "server.db", "server.dbsetup", "server.scheduler", "server.worker", "server.process_health"}
STATEMENT_BUILDERS = {"text", "select", "insert", "update", "delete", "union", "union_all", "exists"}
SQL_START = re.compile(
    r"^\s*(SELECT\s|INSERT\s+INTO\s|UPDATE\s+\w+\s+(AS\s+)?(\w+\s+)?SET\s|DELETE\s+FROM\s|WITH\s+\w+\s+AS\b|TRUNCATE\s)",
    re.I,
)
TABLE_REF = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+(?:ONLY\s+)?\"?([a-z_][a-z0-9_]*)", re.I)


def _modules() -> dict[str, Path]:
    out = {}
    for top in (*PRODUCT, "testkit"):
        for p in (ROOT / top).rglob("*.py"):
            rel = p.relative_to(ROOT)
            if "migrations" in rel.parts:
                continue
            out[".".join(rel.with_suffix("").parts).removesuffix(".__init__")] = p
    return out


@cache
def _trees() -> dict[str, ast.Module]:
    return {m: ast.parse(p.read_text(encoding="utf-8")) for m, p in _modules().items()}


def _imports(mod: str, tree: ast.Module) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level:
                base = mod.split(".")[: -node.level] if not _modules()[mod].name == "__init__.py" else mod.split(".")[: len(mod.split(".")) - node.level + 1]
                name = ".".join([*base, node.module])
            else:
                name = node.module
            subs = [f"{name}.{a.name}" for a in node.names if f"{name}.{a.name}" in _modules()]
            found.update(subs)
            if len(subs) < len(node.names):
                found.add(name)
    return found


def _internal(target: str, modules: set[str]) -> str | None:
    while target:
        if target in modules:
            return target
        target = target.rpartition(".")[0]
    return None


def _graph() -> dict[str, set[str]]:
    modules = set(_trees())
    graph: dict[str, set[str]] = defaultdict(set)
    for mod, tree in _trees().items():
        for imp in _imports(mod, tree):
            dep = _internal(imp, modules)
            # a package's own __init__ is not a dependency of its modules
            if dep and dep != mod and not mod.startswith(dep + "."):
                graph[mod].add(dep)
    return graph


def test_no_import_cycles():
    graph = _graph()
    index, low, stack, on, cycles = {}, {}, [], set(), []

    def visit(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(_trees()):
        if v not in index:
            visit(v)
    assert cycles == []


def _allowed(importer: str, imported: str) -> bool:
    top, target = importer.split(".")[0], imported.split(".")[0]
    if top == "testkit":
        return True  # the test kit sits above everything
    if target == "testkit":
        return False
    if top == "server":
        return target == "server"
    if top == "geo":
        return target in ("server", "geo")
    if top == "my_evacuation":
        return target != "alerts" or imported == "alerts.facts" or imported.startswith("alerts.facts.")
    return True


def test_layers_point_down():
    wrong = sorted(
        f"{mod} imports {imp}"
        for mod, tree in _trees().items()
        for imp in _imports(mod, tree)
        if imp.split(".")[0] in (*PRODUCT, "testkit") and not _allowed(mod, imp)
    )
    assert wrong == []


def _kind(mod: str) -> str:
    return mod.rsplit(".", 1)[-1]


def _strings(tree: ast.Module):
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value
        elif isinstance(node, ast.JoinedStr):
            yield "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))


def _runs_sql(tree: ast.Module) -> list[str]:
    why = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sqlalchemy"):
            why += [f"imports {a.name} from {node.module}" for a in node.names if a.name in STATEMENT_BUILDERS]
    why += [f"SQL text {s.strip()[:40]!r}" for s in _strings(tree) if SQL_START.match(s)]
    return why


def test_only_repositories_run_sql():
    wrong = sorted(
        f"{mod}: {why[0]}"
        for mod, tree in _trees().items()
        if not mod.startswith("testkit.")
        and _kind(mod) not in ("repository", "models") and not _kind(mod).endswith("_repository")
        and mod not in KIT_SQL
        and (why := _runs_sql(tree))
    )
    assert wrong == []


@cache
def _owners() -> tuple[dict[str, str], dict[str, str]]:
    """table -> owning package; view -> owning package."""
    tables, views = {}, {}
    for mod, tree in _trees().items():
        if _kind(mod) != "models":
            continue
        pkg = mod.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__tablename__" for t in node.targets):
                tables[node.value.value] = pkg
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "VIEWS" for t in node.targets):
                views.update({v.value: pkg for v in node.value.elts})
    return tables, views


def _package(mod: str) -> str:
    return mod.rpartition(".")[0] if _modules()[mod].name != "__init__.py" else mod


def test_every_table_is_queried_only_by_its_owner():
    tables, views = _owners()
    model_classes = {}
    for mod, tree in _trees().items():
        if _kind(mod) == "models":
            for node in tree.body:
                if isinstance(node, ast.ClassDef) and any(
                    isinstance(s, ast.Assign) and any(getattr(t, "id", None) == "__tablename__" for t in s.targets)
                    for s in node.body
                ):
                    model_classes[f"{mod}.{node.name}"] = _package(mod)
    wrong = set()
    for mod, tree in _trees().items():
        if mod.startswith("testkit."):
            continue  # benchmarks seed and read every table by design
        pkg = _package(mod)
        for s in _strings(tree):
            if not SQL_START.match(s) and not re.search(r"\bFROM\s+\w+\s+(WHERE|JOIN|AS|GROUP|ORDER)\b", s, re.I):
                continue
            for t in TABLE_REF.findall(s):
                owner = tables.get(t.lower())
                if owner and owner != pkg and not pkg.startswith(owner + "."):
                    wrong.add(f"{mod} names {t} (owned by {owner})")
        if _kind(mod) == "models":
            continue  # foreign keys name other tables by design
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith(".models"):
                for a in node.names:
                    owner = model_classes.get(f"{node.module}.{a.name}")
                    if owner and owner != pkg and not pkg.startswith(owner + "."):
                        wrong.add(f"{mod} uses {a.name} (owned by {owner})")
    assert sorted(wrong) == []
