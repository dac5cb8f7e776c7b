"""Errored scenarios, told once per distinct error: an error is never a silent unknown.

A scenario errors when the adapter or the engine raises something other than a declared
``Unsupported``; its clauses are then unchecked and the run that holds it exits 3, not 0.
When every scenario fails the same way (an engine that is not reachable, servers that
cannot start), printing the error once per scenario and once per clause row buries it:
``ErrorLog`` groups errors whose text differs only in numbers, ids and temporary paths,
numbers the groups (E1, E2, ...), prints each once with the scenarios it hit, and keeps
one traceback per group for ``-v`` or for a file next to the run's other output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from harness.runner import ScenarioRun

__all__ = ["ErrorGroup", "ErrorLog"]

# What varies between two occurrences of one error: temp paths, hex ids, numbers.
_VARYING = re.compile(r"(/[\w.-]+)*/wfconform-[\w.-]+|0x[0-9a-f]+|[0-9a-f]{8}-[0-9a-f-]{27}"
                      r"|\d+")


def _key(reason: str) -> str:
    return _VARYING.sub("#", reason)


@dataclass
class ErrorGroup:
    """One distinct error: its first text and traceback, and every scenario it hit."""

    number: int
    reason: str
    traceback: str
    scenarios: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"E{self.number}"


class ErrorLog:
    """Collects errored runs as they come; renders each distinct error once."""

    def __init__(self) -> None:
        self._groups: dict[str, ErrorGroup] = {}
        self.last_note: str | None = None

    @property
    def groups(self) -> list[ErrorGroup]:
        return list(self._groups.values())

    @property
    def count(self) -> int:
        return sum(len(group.scenarios) for group in self._groups.values())

    def add(self, run: ScenarioRun) -> str | None:
        """Record ``run`` if it errored; return the line to print under its progress
        line: the error in full the first time, then a pointer to the first scenario it
        hit (None when the run did not error). Also kept as ``last_note``."""
        self.last_note = None
        if run.status != "error":
            return None
        reason = "; ".join(run.reasons) or "the run errored"
        key = _key(reason)
        group = self._groups.get(key)
        if group is None:
            group = ErrorGroup(len(self._groups) + 1, reason, run.traceback or "")
            self._groups[key] = group
            self.last_note = f"        error {group.label}: {group.reason}"
        else:
            self.last_note = f"        error {group.label} again (see {group.scenarios[0]})"
        group.scenarios.append(run.scenario.name)
        return self.last_note

    def summary(self, total: int, verbose: bool = False) -> str:
        """Each distinct error once, with how many scenarios it hit (and, verbose, its
        traceback)."""
        lines = [f"ERRORS: {self.count} of {total} scenario(s) errored, "
                 f"{len(self._groups)} distinct error(s); their clauses were not checked:"]
        for group in self._groups.values():
            hit = group.scenarios
            names = ", ".join(hit[:3]) + (f" and {len(hit) - 3} more" if len(hit) > 3 else "")
            lines.append(f"  {group.label} ({len(hit)} scenario(s): {names}): {group.reason}")
            if verbose and group.traceback:
                lines += ["      " + line for line in group.traceback.rstrip().splitlines()]
        return "\n".join(lines)

    def write(self, path: Path) -> Path:
        """Every group's traceback, for a user who did not pass ``-v``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        parts = []
        for group in self._groups.values():
            parts.append(f"== {group.label}: {group.reason}\n"
                         f"scenarios: {', '.join(group.scenarios)}\n\n"
                         f"{group.traceback or '(no traceback)'}\n")
        path.write_text("\n".join(parts), encoding="utf-8")
        return path
