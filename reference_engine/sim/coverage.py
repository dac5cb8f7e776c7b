"""Kill-point coverage: which fault landed at which switch point during which kind of step.

A cell is ``(point, step kind, fault kind)``. Points are the crashpoints plus the
simulator's other switch points (``between_tasks``, ``store:<method>``); step kinds come
from the simulation's ``step_kind`` function (by default ``workflow_step`` or
``calculation``; a harness passes its own, e.g. its scenario step kinds). ``wfconform fuzz
--coverage`` prints ``table()`` and steers generation toward ``missing()`` cells.

Mutable on purpose: it is an accumulator that many runs ``merge`` into; ``counts`` is the
frozen view to hand to checks and reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType

from reference_engine.crashpoints import CRASHPOINTS, WHILE_WAITING
from reference_engine.sim.faults import FAULT_KINDS

Cell = tuple[str, str, str]
DEFAULT_STEP_KINDS: tuple[str, ...] = ("workflow_step", "calculation")
# Faults that can land at a crashpoint (a database restart lands in a store call).
CRASHPOINT_FAULT_KINDS: tuple[str, ...] = tuple(k for k in FAULT_KINDS if k != "db_restart")


class KillCoverage:
    """Counts of faults per cell; ``table`` lays them over the full grid, misses included."""

    def __init__(self) -> None:
        self._counts: dict[Cell, int] = {}

    def record(self, point: str, step_kind: str, fault_kind: str) -> None:
        cell = (point, step_kind, fault_kind)
        self._counts[cell] = self._counts.get(cell, 0) + 1

    def merge(self, other: KillCoverage) -> int:
        """Add ``other``'s counts; returns how many cells were new (for ``hypothesis.target``)."""
        new = 0
        for cell, count in other._counts.items():
            new += cell not in self._counts
            self._counts[cell] = self._counts.get(cell, 0) + count
        return new

    @property
    def counts(self) -> MappingProxyType[Cell, int]:
        return MappingProxyType(self._counts)

    def grid(
        self,
        points: Iterable[str] = CRASHPOINTS,
        step_kinds: Iterable[str] = DEFAULT_STEP_KINDS,
        fault_kinds: Iterable[str] = CRASHPOINT_FAULT_KINDS,
    ) -> list[Cell]:
        """Every cell that can be hit (a calculation never waits: no while_waiting)."""
        kinds, faults = list(step_kinds), list(fault_kinds)
        return [(p, k, f) for p in points for k in kinds for f in faults
                if not (p == WHILE_WAITING and k == "calculation")]

    def missing(self, **grid: Iterable[str]) -> list[Cell]:
        """Cells of the grid no fault has landed in yet (what fuzzing should aim at)."""
        return [cell for cell in self.grid(**grid) if cell not in self._counts]

    def table(self, **grid: Iterable[str]) -> list[tuple[str, str, str, int]]:
        """One row per grid cell: point, step kind, fault kind, hits (0 = not covered)."""
        return [(*cell, self._counts.get(cell, 0)) for cell in self.grid(**grid)]

    def format(self, **grid: Iterable[str]) -> str:
        """A plain-text table, one line per cell, for ``fuzz --coverage``."""
        rows = self.table(**grid)
        width = max((len(r[0]) for r in rows), default=10)
        kind_width = max((len(r[1]) for r in rows), default=10)
        lines = [f"{'crashpoint':<{width}}  {'step kind':<{kind_width}}  fault kind"
                 "            hits"]
        for point, kind, fault, hits in rows:
            mark = str(hits) if hits else "-"
            lines.append(f"{point:<{width}}  {kind:<{kind_width}}  {fault:<20}  {mark:>5}")
        covered = sum(1 for r in rows if r[3])
        lines.append(f"{covered}/{len(rows)} cells covered")
        return "\n".join(lines)
