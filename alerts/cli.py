"""``bousai demo`` and ``bousai simulate`` (their modules live at the package's top)."""

from __future__ import annotations

from alerts import demo, simulate


def register(sub) -> None:
    demo.register(sub)
    simulate.register(sub)
