"""The tests' own layout (issue 18): a test folder mirrors a product package, and a test file
imports shared helpers only from ``tests.kits`` — never from another test module or a conftest."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.kits.paths import REPO

TESTS = REPO / "tests"
# Folders that mirror no product package: the shared helpers, and the console's browser tests.
NOT_MIRRORED = {"kits", "console"}


def _test_sources() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def _bad_imports(path: Path) -> list[str]:
    bad = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                bad.append(f"line {node.lineno}: relative import from {'.' * node.level}{node.module or ''}")
                continue
            names = [node.module or ""]
            # `from tests import kits` names a module through its parent.
            if node.module == "tests":
                names = [f"tests.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            if (name == "tests" or name.startswith("tests.")) and not (name == "tests.kits" or name.startswith("tests.kits.")):
                bad.append(f"line {node.lineno}: imports {name}")
            if name.rpartition(".")[2] == "conftest" or name == "conftest":
                bad.append(f"line {node.lineno}: imports a conftest ({name})")
    return bad


def test_tests_import_shared_helpers_only_from_the_kits():
    found = {}
    for path in _test_sources():
        bad = _bad_imports(path)
        if bad:
            found[str(path.relative_to(REPO))] = bad
    assert not found, f"import shared helpers from tests.kits only: {found}"


@pytest.mark.parametrize("line", [
    "from tests.server.staff.staffkit import make_account",
    "from tests.conftest import truncate_all",
    "from .conftest import shelter",
    "import tests.alerts.delivery.conftest",
    "from tests import conftest",
])
def test_the_guard_refuses_imports_from_test_modules_and_conftests(line, tmp_path):
    probe = tmp_path / "test_probe.py"
    probe.write_text(line + "\n", encoding="utf-8")
    assert _bad_imports(probe)


def test_the_guard_lets_the_kits_through(tmp_path):
    probe = tmp_path / "test_probe.py"
    probe.write_text("from tests.kits.staff import make_account\nfrom tests import kits\n", encoding="utf-8")
    assert _bad_imports(probe) == []


def test_test_folders_mirror_product_packages():
    strays = []
    for d in sorted(p for p in TESTS.rglob("*") if p.is_dir() and "__pycache__" not in p.parts):
        rel = d.relative_to(TESTS)
        if rel.parts[0] in NOT_MIRRORED:
            continue
        package = REPO.joinpath(*rel.parts)
        if not (package / "__init__.py").is_file():
            strays.append(str(rel))
    assert not strays, f"test folders naming no product package (tests/a/b/ mirrors package a.b): {strays}"
