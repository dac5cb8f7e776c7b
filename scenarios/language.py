"""The workflow language: value references, steps, workflows and calculations.

A workflow is an ordered outline of steps. Plain steps (`Compute`, `LaunchCalcs`,
`LaunchWorkflow`) each execute one *effect* (their body) per execution; control steps
(`If`, `While`) execute none themselves, only their inner steps do. Values flow through
`ValueRef`s, which are resolved with *lexical scope*: a step may read the workflow's
inputs and the outputs of earlier steps in its own block or an enclosing one. That rule
makes every reference defined whenever it is read, so a workflow can only go wrong
through the faults a scenario injects, never by accident.

Step outputs (read with `StepOutput(step, key)`):

| step | keys |
| --- | --- |
| `Compute` | `value` |
| `LaunchCalcs` | `<call index>.<output name>`, e.g. `0.sum` |
| `LaunchWorkflow` | the sub-workflow's output names |
| `If` | `branch` (`"then"` or `"otherwise"`) |
| `While` | `iterations` after the loop; `iteration` (0-based) inside its body |
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from scenarios._checks import (
    check_bool,
    check_int,
    check_name,
    freeze_map,
    freeze_tuple,
)
from scenarios.calculations import CALCULATION_FUNCTIONS
from scenarios.errors import InvalidScenarioError
from scenarios.values import check_value, value_key

__all__ = [
    "CHILD_FAILED_EXIT_STATUS",
    "MAX_ITERATIONS",
    "STEP_KINDS",
    "CalcCall",
    "Calculation",
    "Compute",
    "Const",
    "If",
    "Input",
    "LaunchCalcs",
    "LaunchWorkflow",
    "Step",
    "StepOutput",
    "ValueRef",
    "While",
    "Workflow",
    "iter_steps",
    "step_kind",
]

CHILD_FAILED_EXIT_STATUS = 1
"""Exit status of a workflow that finishes because an awaited child failed.

A child fails when it is excepted or killed, or finishes with a non-zero exit status.
The parent then stops at that step and finishes (not excepted) with this status and no
outputs, like an AiiDA WorkChain returning `ERROR_SUB_PROCESS_FAILED`. Engines must
report this status for the oracle's prediction to match.
"""

MAX_ITERATIONS = 16
"""Upper limit for `While.max_iterations`: loops are bounded so every launch terminates."""


@dataclass(frozen=True, eq=False)
class Const:
    """A literal value. Equality is typed: `Const(1) != Const(1.0) != Const(True)`."""

    value: Any

    def __post_init__(self) -> None:
        check_value(self.value, "Const.value")

    def __eq__(self, other: object) -> bool:
        if type(other) is not Const:
            return NotImplemented
        return bool(value_key(self.value) == value_key(other.value))

    def __hash__(self) -> int:
        return hash(("Const", value_key(self.value)))


@dataclass(frozen=True)
class Input:
    """The value of one of the enclosing workflow's inputs."""

    name: str

    def __post_init__(self) -> None:
        check_name(self, "name", self.name)


@dataclass(frozen=True)
class StepOutput:
    """Output `key` of an earlier step in scope (see the module docstring for keys)."""

    step: str
    key: str

    def __post_init__(self) -> None:
        check_name(self, "step", self.step)
        if type(self.key) is not str or not self.key:
            raise InvalidScenarioError(
                "StepOutput.key", self.key, "a non-empty output key such as 'value' or '0.sum'",
                "name the output to read",
            )


ValueRef = Const | Input | StepOutput
_REF_TYPES = (Const, Input, StepOutput)


def _check_ref(field_name: str, item: Any) -> None:
    if not isinstance(item, _REF_TYPES):
        raise InvalidScenarioError(
            field_name, item, "a ValueRef (Const, Input or StepOutput)",
            "wrap literals in Const(...)",
        )


@dataclass(frozen=True)
class Compute:
    """A local effect in the step body; its output `value` is the referenced value."""

    name: str
    value: ValueRef

    def __post_init__(self) -> None:
        check_name(self, "name", self.name)
        _check_ref("Compute.value", self.value)


@dataclass(frozen=True)
class CalcCall:
    """One child calculation of a `LaunchCalcs` step, with inputs by name."""

    calc: str
    inputs: Mapping[str, ValueRef] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name(self, "calc", self.calc)
        freeze_map(self, "inputs", self.inputs, _check_ref, "ValueRefs")


@dataclass(frozen=True)
class LaunchCalcs:
    """Launch the calls as child processes and wait for all of them (AiiDA `ToContext`)."""

    name: str
    calls: tuple[CalcCall, ...]

    def __post_init__(self) -> None:
        check_name(self, "name", self.name)
        freeze_tuple(self, "calls", self.calls, lambda c: isinstance(c, CalcCall), "CalcCalls")
        if not self.calls:
            raise InvalidScenarioError(
                "LaunchCalcs.calls", self.calls, "at least one CalcCall", "add a call"
            )


@dataclass(frozen=True)
class LaunchWorkflow:
    """Launch a sub-workflow as a child process and wait for it."""

    name: str
    workflow: str
    inputs: Mapping[str, ValueRef] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name(self, "name", self.name)
        check_name(self, "workflow", self.workflow)
        freeze_map(self, "inputs", self.inputs, _check_ref, "ValueRefs")


def _is_step(item: Any) -> bool:
    return isinstance(item, _STEP_TYPES)


@dataclass(frozen=True)
class If:
    """Run `then` if the condition's value is truthy (Python rules), else `otherwise`."""

    name: str
    condition: ValueRef
    then: tuple[Step, ...] = ()
    otherwise: tuple[Step, ...] = ()

    def __post_init__(self) -> None:
        check_name(self, "name", self.name)
        _check_ref("If.condition", self.condition)
        freeze_tuple(self, "then", self.then, _is_step, "Steps")
        freeze_tuple(self, "otherwise", self.otherwise, _is_step, "Steps")


@dataclass(frozen=True)
class While:
    """A bounded loop; the condition is evaluated once, at loop entry.

    The loop runs `min(n, max_iterations)` times where `n` is the condition's value if it
    is an int (negative counts as 0); any other value runs `max_iterations` times if
    truthy, else not at all. One evaluation and a hard bound make the iteration count a
    pure function of the inputs, so it terminates and the oracle can predict it.
    """

    name: str
    condition: ValueRef
    body: tuple[Step, ...]
    max_iterations: int

    def __post_init__(self) -> None:
        check_name(self, "name", self.name)
        _check_ref("While.condition", self.condition)
        freeze_tuple(self, "body", self.body, _is_step, "Steps")
        if type(self.max_iterations) is not int or not 1 <= self.max_iterations <= MAX_ITERATIONS:
            raise InvalidScenarioError(
                "While.max_iterations", self.max_iterations,
                f"an int bound between 1 and {MAX_ITERATIONS}",
                "give every loop an explicit small bound",
            )

    def iterations(self, condition_value: Any) -> int:
        """How many times the body runs for this condition value."""
        if type(condition_value) is int:
            return max(0, min(condition_value, self.max_iterations))
        return self.max_iterations if condition_value else 0


Step = Compute | LaunchCalcs | LaunchWorkflow | If | While
_STEP_TYPES = (Compute, LaunchCalcs, LaunchWorkflow, If, While)

STEP_KINDS: tuple[str, ...] = ("compute", "launch_calcs", "launch_workflow", "if", "while")
"""Kind names of steps, as used in JSON and in the generators' statistics."""

_KIND_OF = dict(zip(_STEP_TYPES, STEP_KINDS, strict=True))


def step_kind(step: Step) -> str:
    """The kind name of a step (`"compute"`, `"launch_calcs"`, ...)."""
    return _KIND_OF[type(step)]


def iter_steps(steps: tuple[Step, ...]) -> Iterator[Step]:
    """Every step in document order, descending into `If` branches and `While` bodies."""
    for step in steps:
        yield step
        if isinstance(step, If):
            yield from iter_steps(step.then)
            yield from iter_steps(step.otherwise)
        elif isinstance(step, While):
            yield from iter_steps(step.body)


@dataclass(frozen=True)
class Workflow:
    """A named outline of steps over named inputs, exposing some values as outputs.

    Workflows are never cached (K6); their step bodies run again in every new instance.
    """

    name: str
    inputs: tuple[str, ...]
    steps: tuple[Step, ...]
    outputs: Mapping[str, ValueRef] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name(self, "name", self.name)
        freeze_tuple(self, "inputs", self.inputs, lambda n: type(n) is str, "input names")
        for name in self.inputs:
            check_name(self, "inputs", name)
        freeze_tuple(self, "steps", self.steps, _is_step, "Steps")
        freeze_map(self, "outputs", self.outputs, _check_ref, "ValueRefs")

    def step(self, name: str) -> Step | None:
        """The step called `name` at any depth, or None."""
        for step in iter_steps(self.steps):
            if step.name == name:
                return step
        return None


@dataclass(frozen=True)
class Calculation:
    """A cacheable leaf process type: a deterministic `function` of its inputs.

    Cache identity is (name, version, inputs): two types never hit each other (K8) even
    with the same function. `exit_status != 0` makes every execution finish-but-fail;
    `invalidates_cache` declares that exit code as one that disqualifies the node as a
    cache source (AiiDA's `ExitCode(invalidates_cache=True)`).
    """

    name: str
    function: str
    cacheable: bool = True
    exit_status: int = 0
    invalidates_cache: bool = False
    version: int = 1

    def __post_init__(self) -> None:
        check_name(self, "name", self.name)
        if self.function not in CALCULATION_FUNCTIONS:
            raise InvalidScenarioError(
                "Calculation.function", self.function, f"one of {CALCULATION_FUNCTIONS}",
                "pick a known function",
            )
        check_bool(self, "cacheable", self.cacheable)
        check_int(self, "exit_status", self.exit_status, 0)
        check_bool(self, "invalidates_cache", self.invalidates_cache)
        check_int(self, "version", self.version, 1)
        if self.invalidates_cache and self.exit_status == 0:
            raise InvalidScenarioError(
                "Calculation.invalidates_cache", True, "False when exit_status is 0",
                "set a non-zero exit_status or drop invalidates_cache",
            )
