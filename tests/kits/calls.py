"""Counting the calls of an async function the app looks up by module attribute (e.g. to show
that a fast path answered without reaching its route)."""

from __future__ import annotations

from typing import Any


def count_calls(monkeypatch: Any, module: Any, name: str) -> list[tuple]:
    """Wrap ``module.name`` (an async function) for this test; returns the list each call's
    ``(args, kwargs)`` is appended to."""
    calls: list[tuple] = []
    real = getattr(module, name)

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        return await real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls
