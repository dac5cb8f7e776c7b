"""`Scenario.validate()`: every cross reference and every rule constructors cannot see.

Checked: unique names (workflows, calculations, inputs, steps within a workflow, launch
labels); references (`Input` names, `StepOutput` steps in lexical scope with a key they
really produce, called calculations and workflows, exact sub-workflow and launch inputs);
no recursive sub-workflows; fault targets that name an executable body, `while_waiting`
only on launching steps, no two body faults on the same target and attempt; launch-op
references in plan order; unambiguous caching configurations; known clause ids.
"""

from __future__ import annotations

from collections.abc import Mapping

from scenarios.calculations import calculation_output_names
from scenarios.capabilities import ALL_CLAUSES
from scenarios.effects import effect_keys
from scenarios.errors import InvalidScenarioError, UnknownNameError
from scenarios.faults import FailCommit, KillAtCrashpoint, RaiseIn
from scenarios.language import (
    Calculation,
    Compute,
    If,
    Input,
    LaunchCalcs,
    LaunchWorkflow,
    Step,
    StepOutput,
    ValueRef,
    Workflow,
    iter_steps,
)
from scenarios.plan import Invalidate, KillProcess, Launch, Relaunch, SetCaching, caching_enabled
from scenarios.scenario import Scenario

Scope = dict[str, frozenset[str]]


def _workflow(scenario: Scenario, name: str, field: str) -> Workflow:
    try:
        return scenario.workflow(name)
    except UnknownNameError as error:
        raise InvalidScenarioError(
            field, name, f"a workflow of the scenario ({', '.join(error.known) or 'none'})",
            "define the workflow or fix the name",
        ) from error


def _calculation(scenario: Scenario, name: str, field: str) -> Calculation:
    try:
        return scenario.calculation(name)
    except UnknownNameError as error:
        raise InvalidScenarioError(
            field, name, f"a calculation of the scenario ({', '.join(error.known) or 'none'})",
            "define the calculation or fix the name",
        ) from error


def _unique(field: str, names: list[str], fix: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidScenarioError(field, name, "unique names", fix)
        seen.add(name)


def step_output_keys(scenario: Scenario, step: Step) -> frozenset[str]:
    """Keys `StepOutput(step.name, key)` may read after `step` (outside a loop body)."""
    if isinstance(step, Compute):
        return frozenset({"value"})
    if isinstance(step, LaunchCalcs):
        keys = set()
        for index, call in enumerate(step.calls):
            calc = scenario.calculation(call.calc)
            for name in calculation_output_names(calc.function, call.inputs):
                keys.add(f"{index}.{name}")
        return frozenset(keys)
    if isinstance(step, LaunchWorkflow):
        return frozenset(scenario.workflow(step.workflow).outputs)
    if isinstance(step, If):
        return frozenset({"branch"})
    return frozenset({"iterations"})


class _WorkflowChecker:
    def __init__(self, scenario: Scenario, workflow: Workflow) -> None:
        self.scenario = scenario
        self.workflow = workflow
        self.where = f"workflow {workflow.name}"

    def ref(self, field: str, ref: ValueRef, scope: Scope) -> None:
        if isinstance(ref, Input) and ref.name not in self.workflow.inputs:
            raise InvalidScenarioError(
                f"{self.where}: {field}", ref, f"an input of {self.workflow.inputs}",
                "declare the input on the workflow or fix the name",
            )
        if isinstance(ref, StepOutput):
            if ref.step not in scope:
                raise InvalidScenarioError(
                    f"{self.where}: {field}", ref,
                    f"an earlier step in scope ({sorted(scope)})",
                    "read only steps that ran before, in this block or an enclosing one",
                )
            if ref.key not in scope[ref.step]:
                raise InvalidScenarioError(
                    f"{self.where}: {field}", ref, f"a key of {sorted(scope[ref.step])}",
                    "read an output the step produces",
                )

    def refs(self, field: str, refs: Mapping[str, ValueRef], scope: Scope) -> None:
        for name, ref in refs.items():
            self.ref(f"{field}[{name!r}]", ref, scope)

    def block(self, steps: tuple[Step, ...], scope: Scope) -> Scope:
        scope = dict(scope)
        for step in steps:
            field = f"step {step.name}"
            if isinstance(step, Compute):
                self.ref(f"{field}.value", step.value, scope)
            elif isinstance(step, LaunchCalcs):
                for index, call in enumerate(step.calls):
                    _calculation(self.scenario, call.calc, f"{self.where}: {field}.calc")
                    self.refs(f"{field}.calls[{index}].inputs", call.inputs, scope)
            elif isinstance(step, LaunchWorkflow):
                child = _workflow(self.scenario, step.workflow, f"{self.where}: {field}")
                if set(step.inputs) != set(child.inputs):
                    raise InvalidScenarioError(
                        f"{self.where}: {field}.inputs", sorted(step.inputs),
                        f"exactly the inputs of {child.name}: {list(child.inputs)}",
                        "pass every input of the sub-workflow and nothing else",
                    )
                self.refs(f"{field}.inputs", step.inputs, scope)
            elif isinstance(step, If):
                self.ref(f"{field}.condition", step.condition, scope)
                self.block(step.then, scope)
                self.block(step.otherwise, scope)
            else:
                self.ref(f"{field}.condition", step.condition, scope)
                self.block(step.body, {**scope, step.name: frozenset({"iteration"})})
            scope[step.name] = step_output_keys(self.scenario, step)
        return scope

    def check(self) -> None:
        _unique(f"{self.where}: inputs", list(self.workflow.inputs), "rename the input")
        _unique(f"{self.where}: step name",
                [s.name for s in iter_steps(self.workflow.steps)],
                "give every step of a workflow its own name, also inside if/while")
        scope = self.block(self.workflow.steps, {})
        self.refs("outputs", self.workflow.outputs, scope)


def _check_no_recursion(scenario: Scenario) -> None:
    calls = {
        w.name: {s.workflow for s in iter_steps(w.steps) if isinstance(s, LaunchWorkflow)}
        for w in scenario.workflows
    }
    state: dict[str, int] = {}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise InvalidScenarioError(
                "workflows", " -> ".join((*trail, name)), "no recursive sub-workflow launches",
                "break the cycle; use a While loop for repetition",
            )
        state[name] = 1
        for child in sorted(calls.get(name, ())):
            visit(child, (*trail, name))
        state[name] = 2

    for workflow in scenario.workflows:
        visit(workflow.name, ())


def _check_faults(scenario: Scenario) -> None:
    claimed: dict[str, list[int | None]] = {}
    for index, fault in enumerate(scenario.faults):
        if not isinstance(fault, (RaiseIn, KillAtCrashpoint, FailCommit)):
            continue
        field = f"faults[{index}].target"
        if fault.target.startswith("calc:"):
            _calculation(scenario, fault.target[5:], field)
            if isinstance(fault, KillAtCrashpoint) and fault.crashpoint == "while_waiting":
                raise InvalidScenarioError(
                    field, fault.target, "a LaunchCalcs or LaunchWorkflow step for while_waiting",
                    "target the step that waits, e.g. Workflow.step",
                )
        else:
            wf_name, _, step_name = fault.target.partition(".")
            step = _workflow(scenario, wf_name, field).step(step_name)
            launching = isinstance(step, (LaunchCalcs, LaunchWorkflow))
            if not (launching or isinstance(step, Compute)):
                raise InvalidScenarioError(
                    field, fault.target, "a Compute, LaunchCalcs or LaunchWorkflow step",
                    "target a step with a body (If and While execute none)",
                )
            if isinstance(fault, KillAtCrashpoint) and fault.crashpoint == "while_waiting" \
                    and not launching:
                raise InvalidScenarioError(
                    field, fault.target, "a LaunchCalcs or LaunchWorkflow step for while_waiting",
                    "target a step that launches children",
                )
        attempts = claimed.setdefault(fault.target, [])
        if (fault.attempt is None and attempts) or None in attempts or fault.attempt in attempts:
            raise InvalidScenarioError(
                f"faults[{index}]", fault, "at most one body fault per target and attempt",
                "drop one of the faults or move it to another attempt",
            )
        attempts.append(fault.attempt)


def _check_launches(scenario: Scenario) -> None:
    labels = list(scenario.launch_labels())
    _unique("launch label", labels, "give every Launch and Relaunch its own label")
    done: set[str] = set()
    for index, op in enumerate(scenario.launches):
        field = f"launches[{index}]"
        if isinstance(op, Launch):
            workflow = _workflow(scenario, op.workflow, f"{field}.workflow")
            if set(op.inputs) != set(workflow.inputs):
                raise InvalidScenarioError(
                    f"{field}.inputs", sorted(op.inputs),
                    f"exactly the inputs of {workflow.name}: {list(workflow.inputs)}",
                    "pass every input and nothing else",
                )
        elif isinstance(op, (Relaunch, Invalidate)) or (
                isinstance(op, KillProcess) and op.at_effect is None):
            ref = op.of if isinstance(op, Relaunch) else op.launch
            if ref not in done:
                raise InvalidScenarioError(
                    f"{field}", ref, f"a label launched earlier ({sorted(done)})",
                    "refer to a launch that comes before this operation",
                )
            if isinstance(op, Invalidate):
                key = f"{op.launch}/{op.calc_path}"
                if key not in effect_keys(scenario, op.launch):
                    raise InvalidScenarioError(
                        f"{field}.calc_path", op.calc_path,
                        "a calculation path this launch can create",
                        "copy the path (without the label) from effect_keys(scenario, launch)",
                    )
        elif isinstance(op, KillProcess):
            if op.launch in done or op.launch not in labels:
                raise InvalidScenarioError(
                    f"{field}.launch", op.launch, "a label launched later in the plan",
                    "arm kills (at_effect set) before the launch they target",
                )
        elif isinstance(op, SetCaching):
            for calc in scenario.calculations:
                caching_enabled(op, calc.name)
        if isinstance(op, (Launch, Relaunch)):
            done.add(op.label)


def validate_scenario(scenario: Scenario) -> None:
    if scenario.clause is not None and scenario.clause not in ALL_CLAUSES:
        raise InvalidScenarioError(
            "Scenario.clause", scenario.clause, f"one of {ALL_CLAUSES} or None",
            "name a clause of DESIGN.md",
        )
    _unique("workflow name", [w.name for w in scenario.workflows], "rename the workflow")
    _unique("calculation name", [c.name for c in scenario.calculations], "rename the type")
    for workflow in scenario.workflows:
        for step in iter_steps(workflow.steps):
            if isinstance(step, LaunchWorkflow):
                _workflow(scenario, step.workflow, f"workflow {workflow.name}: step {step.name}")
    _check_no_recursion(scenario)
    for workflow in scenario.workflows:
        _WorkflowChecker(scenario, workflow).check()
    _check_faults(scenario)
    _check_launches(scenario)
