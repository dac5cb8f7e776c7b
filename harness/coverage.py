"""Kill-point coverage over many sim runs: crashpoint x step kind x fault kind, hit or not.

Why a harness-side table when the simulator counts its own (``KillCoverage``): fuzzing
runs thousands of scenarios, each on a fresh adapter, and wants one table over all of
them, in the *scenario's* vocabulary of step kinds (``compute``, ``launch``,
``collect``, ...) rather than the engine's. ``CoverageTable`` merges per-run counts
(any mapping ``(point, step kind, fault kind) -> hits``, e.g. ``KillCoverage.counts``
or ``SimReferenceAdapter.coverage_counts``), lays them over the full grid, misses
included, and scores a run by the holes it fills (``score``: what ``wfconform fuzz``
passes to ``hypothesis.target``). ``CoverageCollector`` wraps an adapter factory so each
run's counts are collected without the runner knowing about coverage. Engine-agnostic:
it imports no engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from scenarios.faults import CRASHPOINTS
from scenarios.language import Compute, LaunchCalcs, LaunchWorkflow, iter_steps
from scenarios.scenario import Scenario

__all__ = [
    "FAULT_KINDS",
    "POINTS",
    "STEP_KINDS",
    "CoverageCollector",
    "CoverageTable",
    "reports_coverage",
    "step_kind_table",
]

Cell = tuple[str, str, str]
POINTS: tuple[str, ...] = CRASHPOINTS
"""Rows of the table: the named crashpoints (the sim's other switch points are counted
but shown only when asked for with ``points=``)."""
STEP_KINDS: tuple[str, ...] = ("compute", "launch", "collect", "condition", "finish",
                               "calculation")
FAULT_KINDS: tuple[str, ...] = ("armed_kill", "kill", "duplicate_delivery", "lease_expiry",
                                "broker_restart")
"""Faults that land at a crashpoint (a database restart lands in a store call instead)."""
_NEVER = {("while_waiting", "calculation"), ("while_waiting", "compute"),
          ("while_waiting", "condition"), ("while_waiting", "finish")}


def step_kind_table(scenario: Scenario) -> Callable[[Any, str | None], str]:
    """``Simulation(step_kind=...)`` for a scenario: engine step -> scenario step kind.

    Engine steps are named as ``reference_workflows`` makes them: ``s_<name>`` (the
    body of a compute or launching step), ``k_<name>`` (collecting children),
    ``if_``/``while_`` (conditions) and ``finish``; a calculation has no step.
    """
    kinds: dict[str, str] = {}
    for workflow in scenario.workflows:
        for step in iter_steps(workflow.steps):
            if isinstance(step, Compute):
                kinds[f"{workflow.name}.s_{step.name}"] = "compute"
            elif isinstance(step, (LaunchCalcs, LaunchWorkflow)):
                kinds[f"{workflow.name}.s_{step.name}"] = "launch"

    def step_kind(process: Any, step: str | None) -> str:
        if process is None:
            return "idle"
        if process.kind == "calculation":
            return "calculation"
        if step is None:
            return "workflow"
        if step.startswith("k_"):
            return "collect"
        if step.startswith(("if_", "while_")):
            return "condition"
        if step == "finish":
            return "finish"
        workflow = str(process.label).rpartition("@")[2]
        return kinds.get(f"{workflow}.{step}", "workflow")

    return step_kind


class CoverageTable:
    """Fault counts per cell over many runs; a mutable accumulator, like ``KillCoverage``."""

    def __init__(self) -> None:
        self._counts: dict[Cell, int] = {}

    @property
    def counts(self) -> Mapping[Cell, int]:
        return dict(self._counts)

    def score(self, counts: Mapping[Cell, int], **grid: Iterable[str]) -> int:
        """How many holes of the grid one run's ``counts`` fill: cells it hit that no
        merged run hit before. 0 for a run whose faults land only in covered cells (or
        off the grid, or nowhere). Call it before ``merge``: this is the observation
        ``hypothesis.target`` maximises, so a run is rewarded for new cells only."""
        wanted = set(self.grid(**grid))
        return sum(1 for cell, hits in counts.items()
                   if hits > 0 and cell in wanted and cell not in self._counts)

    def merge(self, counts: Mapping[Cell, int]) -> int:
        """Add one run's counts; the number of cells it hit for the first time."""
        new = 0
        for cell, hits in counts.items():
            if hits <= 0:
                continue
            new += cell not in self._counts
            self._counts[cell] = self._counts.get(cell, 0) + hits
        return new

    def grid(self, points: Iterable[str] = POINTS, step_kinds: Iterable[str] = STEP_KINDS,
             fault_kinds: Iterable[str] = FAULT_KINDS) -> list[Cell]:
        """Every cell that can be hit (only a workflow waits: ``while_waiting``)."""
        kinds, faults = list(step_kinds), list(fault_kinds)
        return [(p, k, f) for p in points for k in kinds for f in faults
                if (p, k) not in _NEVER]

    def missing(self, **grid: Iterable[str]) -> list[Cell]:
        """Cells of the grid no fault has landed in yet: where fuzzing should aim."""
        return [cell for cell in self.grid(**grid) if cell not in self._counts]

    def covered(self, **grid: Iterable[str]) -> int:
        return sum(1 for cell in self.grid(**grid) if cell in self._counts)

    def format(self, **grid: Iterable[str]) -> str:
        """Text table: one row per crashpoint and step kind, one column per fault kind;
        a cell shows its hits or ``-``; the last line is ``N/M cells covered``."""
        cells = self.grid(**grid)
        faults = list(dict.fromkeys(f for _, _, f in cells))
        rows = list(dict.fromkeys((p, k) for p, k, _ in cells))
        wanted = set(cells)
        first = max([len("crashpoint / step kind"), *(len(f"{p} / {k}") for p, k in rows)])
        widths = [max(len(f), 5) for f in faults]
        head = "  ".join([f"{'crashpoint / step kind':<{first}}",
                          *(f"{f:>{w}}" for f, w in zip(faults, widths, strict=True))])
        lines = [head]
        for point, kind in rows:
            marks = []
            for fault, width in zip(faults, widths, strict=True):
                cell = (point, kind, fault)
                mark = str(self._counts.get(cell, "-")) if cell in wanted else ""
                marks.append(f"{mark:>{width}}")
            lines.append("  ".join([f"{point + ' / ' + kind:<{first}}", *marks]))
        lines.append(f"{self.covered(**grid)}/{len(cells)} cells covered")
        return "\n".join(lines)


class CoverageCollector:
    """Wraps an adapter factory; after each run, ``collect()`` merges the run's coverage.

    An adapter takes part by having ``coverage_counts`` (a mapping of cells to hits,
    complete once it is closed); others are skipped, so wrapping costs nothing elsewhere.
    """

    def __init__(self, factory: Callable[[], Any], table: CoverageTable | None = None) -> None:
        self.inner = factory
        self.table = table if table is not None else CoverageTable()
        self._made: list[Any] = []

    def __call__(self) -> Any:
        adapter = self.inner()
        self._made.append(adapter)
        return adapter

    def take(self) -> dict[Cell, int]:
        """The counts of the adapters made since the last call, summed; not merged."""
        made, self._made = self._made, []
        counts: dict[Cell, int] = {}
        for adapter in made:
            for cell, hits in (getattr(adapter, "coverage_counts", None) or {}).items():
                counts[cell] = counts.get(cell, 0) + hits
        return counts

    def collect(self) -> int:
        """Merge the adapters made since the last call; the number of new cells."""
        return self.table.merge(self.take())


def reports_coverage(adapter: Any) -> bool:
    """Whether ``adapter`` fills ``coverage_counts`` (the sim tier does; OS tiers do not)."""
    return hasattr(adapter, "coverage_counts")
