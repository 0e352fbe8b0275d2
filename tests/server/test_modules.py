import pytest

from server.modules import optional_import


def test_missing_module_or_package_is_none():
    assert optional_import("server.no_such_module") is None
    assert optional_import("no_such_package.sub") is None


def test_existing_module_is_returned():
    assert optional_import("server.modules").optional_import is optional_import


def test_an_import_error_inside_a_module_still_raises(tmp_path, monkeypatch):
    (tmp_path / "broken_mod_for_test.py").write_text("import no_such_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError):
        optional_import("broken_mod_for_test")
