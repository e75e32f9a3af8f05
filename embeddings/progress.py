"""Progress of an index build, phase by phase: the builder calls it, the caller (the CLI, on a terminal) shows it."""

from __future__ import annotations

from collections.abc import Callable

# A phase's name, the work done and the work in all, and the unit both are counted in.
Progress = Callable[[str, int, int, str], None]
PHASES = ("read", "clean", "split", "embed", "write")


def silent(phase: str, done: int, total: int, unit: str) -> None:
    """Report nothing."""


# One line for the operator (a warning or a step done), where the caller shows it.
Report = Callable[[str], None]
