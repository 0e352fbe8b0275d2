"""Helpers shared by more than one test file; the fixture modules are pytest plugins (root conftest)."""
