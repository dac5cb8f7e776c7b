"""`Scenario`: workflows, calculations, a fault plan and a launch plan, as one frozen value.

A scenario is the unit the harness runs, the oracle judges and a failing fuzz run
writes to disk. It is plain data: equal scenarios compare equal (values typed, dict
order ignored), hash equal, and survive `to_json` / `from_json` unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scenarios._checks import check_int, check_name, freeze_tuple
from scenarios.errors import InvalidScenarioError, UnknownNameError
from scenarios.faults import FAULT_TYPES, Fault
from scenarios.language import Calculation, Workflow
from scenarios.plan import LAUNCH_OP_TYPES, Launch, LaunchOp, Relaunch

__all__ = ["FORMAT", "READABLE_FORMATS", "Scenario"]

FORMAT = 2
"""Version of the JSON format written by `to_json`. Format 2 (issue 13) added the typed
value tags (`$tuple`, `$set`, `$bytes`, `$decimal`, `$datetime`, `$map`, `$array`)."""

READABLE_FORMATS: tuple[int, ...] = (1, 2)
"""Formats `from_json` reads: format 1 files (JSON-like values only) still load."""


@dataclass(frozen=True)
class Scenario:
    """A complete, replayable test case.

    `clause` names the clause a catalog scenario was written for; `seed` records the seed
    a generated scenario came from (for replay and reports). Cross references are checked
    by `validate()`, which the JSON loader and the generators call.
    """

    name: str
    workflows: tuple[Workflow, ...]
    calculations: tuple[Calculation, ...]
    launches: tuple[LaunchOp, ...]
    faults: tuple[Fault, ...] = ()
    clause: str | None = None
    description: str = ""
    seed: int | None = None

    def __post_init__(self) -> None:
        check_name(self, "name", self.name)
        freeze_tuple(self, "workflows", self.workflows,
                     lambda w: isinstance(w, Workflow), "Workflows")
        freeze_tuple(self, "calculations", self.calculations,
                     lambda c: isinstance(c, Calculation), "Calculations")
        freeze_tuple(self, "launches", self.launches,
                     lambda op: isinstance(op, LAUNCH_OP_TYPES), "LaunchOps")
        freeze_tuple(self, "faults", self.faults,
                     lambda f: isinstance(f, FAULT_TYPES), "Faults")
        if self.clause is not None and type(self.clause) is not str:
            raise InvalidScenarioError(
                "Scenario.clause", self.clause, "a clause id such as 'C1' or None",
                "name the clause as a string",
            )
        if type(self.description) is not str:
            raise InvalidScenarioError(
                "Scenario.description", self.description, "a str", "describe it in text"
            )
        if self.seed is not None and type(self.seed) is not int:
            check_int(self, "seed", self.seed, 0)

    # -- lookups -----------------------------------------------------------------------

    def workflow(self, name: str) -> Workflow:
        """The workflow called `name`; `UnknownNameError` if there is none."""
        for workflow in self.workflows:
            if workflow.name == name:
                return workflow
        raise UnknownNameError("workflow", name, tuple(w.name for w in self.workflows))

    def calculation(self, name: str) -> Calculation:
        """The calculation type called `name`; `UnknownNameError` if there is none."""
        for calc in self.calculations:
            if calc.name == name:
                return calc
        raise UnknownNameError("calculation", name, tuple(c.name for c in self.calculations))

    def launch_labels(self) -> tuple[str, ...]:
        """Labels of the processes the plan creates, in plan order."""
        return tuple(op.label for op in self.launches if isinstance(op, (Launch, Relaunch)))

    def launch_op(self, label: str) -> Launch:
        """The original `Launch` behind `label`, following `Relaunch` chains."""
        seen: set[str] = set()
        while label not in seen:
            seen.add(label)
            for op in self.launches:
                if isinstance(op, Launch) and op.label == label:
                    return op
                if isinstance(op, Relaunch) and op.label == label:
                    label = op.of
                    break
            else:
                break
        raise UnknownNameError("launch", label, self.launch_labels())

    def launch_workflow(self, label: str) -> str:
        """Name of the workflow that launch `label` runs."""
        return self.launch_op(label).workflow

    def launch_inputs(self, label: str) -> Mapping[str, Any]:
        """The inputs launch `label` runs with (a relaunch reuses its origin's inputs)."""
        return self.launch_op(label).inputs

    # -- validation and JSON -----------------------------------------------------------

    def validate(self) -> Scenario:
        """Check every cross reference; raise `InvalidScenarioError` or return `self`."""
        from scenarios._validation import validate_scenario

        validate_scenario(self)
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with `"format": FORMAT`; values use the tagged encoding."""
        from scenarios._codec import scenario_to_dict

        return scenario_to_dict(self)

    def definitions_to_dict(self) -> dict[str, Any]:
        """`to_dict`'s `calculations` and `workflows` alone (what an engine registers)."""
        from scenarios._codec import definitions_to_dict

        return definitions_to_dict(self)

    @classmethod
    def from_dict(cls, data: Any, *, validate: bool = True) -> Scenario:
        """Inverse of `to_dict`; rejects unknown formats and (by default) invalid scenarios."""
        from scenarios._codec import scenario_from_dict

        scenario = scenario_from_dict(data)
        return scenario.validate() if validate else scenario

    def to_json(self, *, indent: int | None = None) -> str:
        """The scenario as JSON text (ASCII only, so every string survives any transport)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes, *, validate: bool = True) -> Scenario:
        """Load a scenario written by `to_json` (or by hand, in the same format)."""
        try:
            data = json.loads(text)
        except ValueError as error:
            raise InvalidScenarioError(
                "scenario JSON", str(text)[:60], f"valid JSON ({error})",
                "pass the text written by Scenario.to_json",
            ) from error
        return cls.from_dict(data, validate=validate)
