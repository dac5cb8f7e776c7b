"""The exceptions of the scenario package: one root, misuse errors also subclass builtins.

Callers catch `ScenarioError` to handle anything this package raises on purpose; code
that already catches `ValueError` or `LookupError` keeps working, because each misuse
error also subclasses the matching builtin.
"""

from __future__ import annotations

from typing import Any

__all__ = ["InvalidScenarioError", "ScenarioError", "UnknownNameError"]


class ScenarioError(Exception):
    """Root of every error raised on purpose by `scenarios`; catch it to catch them all."""


class InvalidScenarioError(ScenarioError, ValueError):
    """A scenario, one of its parts or a capability set breaks a rule of the language.

    Raised by constructors (wrong types), by `Scenario.validate()` (dangling references,
    duplicate names, unbounded loops, ...) and by the JSON decoder (unknown format,
    malformed fields). The message names the field, its value, what was expected and how
    to fix it; the same data is kept as attributes so tools can show it their own way.
    """

    def __init__(self, field: str, value: Any, expected: str, fix: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        self.fix = fix
        shown = repr(value)
        if len(shown) > 120:
            shown = shown[:117] + "..."
        super().__init__(f"{field}={shown}: expected {expected}; fix: {fix}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle by the four fields, not by the formatted message, so errors survive
        # being sent between pytest-xdist workers or multiprocessing pools.
        return (type(self), (self.field, self.value, self.expected, self.fix))


class UnknownNameError(ScenarioError, LookupError):
    """A lookup (`Scenario.workflow`, `catalog.by_name`, ...) asked for a name that is not there.

    Check the spelling against `known`, which lists the names that do exist.
    """

    def __init__(self, kind: str, name: str, known: tuple[str, ...]) -> None:
        self.kind = kind
        self.name = name
        self.known = known
        listed = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "")
        super().__init__(f"no {kind} named {name!r}; known: {listed or '(none)'}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.kind, self.name, self.known))
