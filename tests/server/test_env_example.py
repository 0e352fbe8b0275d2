"""``.env.example`` names exactly the variables the settings classes read, and the compose
files set only real ones: an operator copying it misses nothing and sets nothing dead."""

from __future__ import annotations

import re
from pathlib import Path

from server.env_example import env_names, settings_classes

REPO = Path(__file__).resolve().parents[2]
REGENERATE = "regenerate it: python -m server.env_example > .env.example"


def _known() -> set[str]:
    return {name for cls in settings_classes() for name in env_names(cls)}


def _listed() -> set[str]:
    text = (REPO / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^#? ?(BOUSAI_[A-Z0-9_]+)=", text, flags=re.M))


def test_settings_classes_are_found_in_every_package():
    names = {f"{c.__module__}.{c.__name__}" for c in settings_classes()}
    assert {"server.settings.Settings", "alerts.staff.settings.StaffSettings", "server.ops_settings.OpsSettings",
            "my_evacuation.config.MyEvacuationSettings"} <= names


def test_every_setting_is_in_env_example():
    missing = sorted(_known() - _listed())
    assert not missing, f".env.example lacks {missing}; {REGENERATE}"


def test_env_example_names_no_variable_that_nothing_reads():
    dead = sorted(_listed() - _known())
    assert not dead, f".env.example names {dead}, which no settings class reads; {REGENERATE}"


def test_compose_sets_only_real_settings():
    known = _known()
    for f in sorted((REPO / "docker").glob("compose*.yaml")):
        used = set(re.findall(r"\b(BOUSAI_[A-Z0-9_]+)\b", f.read_text(encoding="utf-8")))
        assert not used - known, f"{f.name} sets {sorted(used - known)}, which no settings class reads"
