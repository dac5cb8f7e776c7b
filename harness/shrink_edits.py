"""The edits the shrinker tries, coarse first, each yielding a *valid* smaller scenario.

Every candidate is built with the scenario language's own constructors and passes
``Scenario.validate()``; an edit that would break a reference is dropped or, for a
removed step, repaired (its readers get ``Const(0)``). Values shrink *consistently*: a
launch input value is replaced everywhere it occurs, so launches that had equal inputs
(the caching clauses' material) keep equal inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from functools import partial
from typing import Any

from scenarios.errors import ScenarioError
from scenarios.faults import FailCommit, Fault, KillAtCrashpoint, KillOnEffect, RaiseIn
from scenarios.language import (
    CalcCall,
    Const,
    If,
    LaunchCalcs,
    LaunchWorkflow,
    Step,
    StepOutput,
    ValueRef,
    While,
    Workflow,
    iter_steps,
)
from scenarios.plan import Invalidate, KillProcess, Launch, LaunchOp, Relaunch
from scenarios.scenario import Scenario
from scenarios.values import canonical

__all__ = ["candidates", "size"]


def size(scenario: Scenario) -> int:
    """A rough measure the shrinker makes smaller: ops, faults, steps, calls and values."""
    steps = sum(1 for w in scenario.workflows for _ in iter_steps(w.steps))
    calls = sum(len(s.calls) for w in scenario.workflows for s in iter_steps(w.steps)
                if isinstance(s, LaunchCalcs))
    values = sum(len(canonical(op.inputs[k])) for op in scenario.launches
                 if isinstance(op, Launch) for k in op.inputs)
    return (len(scenario.launches) + len(scenario.faults) + steps + calls
            + len(scenario.workflows) + len(scenario.calculations) + values)


def _valid(build: Callable[[], Scenario]) -> Scenario | None:
    try:
        return build().validate()
    except (ScenarioError, KeyError, ValueError, TypeError):
        return None


def candidates(scenario: Scenario) -> Iterator[Scenario]:
    """Smaller valid scenarios, coarse edits first (see module docstring)."""
    for edit in (_drop_faults, _drop_launch_ops, _drop_steps, _drop_calls, _drop_outputs,
                 _drop_definitions, _drop_inputs, _simplify_values, _simplify_faults,
                 _simplify_loops):
        for build in edit(scenario):
            candidate = _valid(build)
            if candidate is not None:
                yield candidate


def _chunks(count: int) -> Iterator[tuple[int, int]]:
    """(start, stop) slices: halves, quarters, ..., then single items."""
    width = count // 2
    while width >= 1:
        for start in range(0, count, width):
            yield start, min(count, start + width)
        width //= 2
    if count == 1:
        yield 0, 1


Build = Callable[[], Scenario]


def _with_workflow(s: Scenario, index: int, workflow: Workflow, **changes: Any) -> Scenario:
    """``s`` with workflow ``index`` replaced (and other fields changed)."""
    return replace(s, workflows=(*s.workflows[:index], workflow, *s.workflows[index + 1:]),
                   **changes)


def _without_faults(s: Scenario, start: int, stop: int) -> Scenario:
    return replace(s, faults=s.faults[:start] + s.faults[stop:])


def _with_fault(s: Scenario, index: int, fault: Fault) -> Scenario:
    return replace(s, faults=(*s.faults[:index], fault, *s.faults[index + 1:]))


def _without_workflow(s: Scenario, index: int) -> Scenario:
    return replace(s, workflows=s.workflows[:index] + s.workflows[index + 1:])


def _without_calculation(s: Scenario, index: int, target: str) -> Scenario:
    return replace(s, calculations=s.calculations[:index] + s.calculations[index + 1:],
                   faults=tuple(f for f in s.faults if getattr(f, "target", None) != target))


def _drop_faults(s: Scenario) -> Iterator[Build]:
    for start, stop in _chunks(len(s.faults)):
        yield partial(_without_faults, s, start, stop)


def _labels_of(op: LaunchOp) -> tuple[str | None, str | None]:
    """(label this op creates, label it refers to)."""
    if isinstance(op, Launch):
        return op.label, None
    if isinstance(op, Relaunch):
        return op.label, op.of
    if isinstance(op, (KillProcess, Invalidate)):
        return None, op.launch
    return None, None


def _without_ops(s: Scenario, start: int, stop: int) -> Scenario:
    """Drop ops [start, stop) and every later op that refers to a label they created."""
    gone: set[str] = set()
    kept: list[LaunchOp] = []
    for index, op in enumerate(s.launches):
        made, uses = _labels_of(op)
        if start <= index < stop or (uses is not None and uses in gone):
            if made is not None:
                gone.add(made)
            continue
        kept.append(op)
    if not any(isinstance(op, Launch) for op in kept):
        raise ValueError("a scenario needs at least one launch")
    return replace(s, launches=tuple(kept))


def _drop_launch_ops(s: Scenario) -> Iterator[Build]:
    for start, stop in _chunks(len(s.launches)):
        yield partial(_without_ops, s, start, stop)


def _map_steps(steps: tuple[Step, ...], fn: Callable[[Step], tuple[Step, ...]]
               ) -> tuple[Step, ...]:
    """Apply ``fn`` (which returns 0..n replacement steps) at every depth."""
    out: list[Step] = []
    for step in steps:
        if isinstance(step, If):
            step = replace(step, then=_map_steps(step.then, fn),
                           otherwise=_map_steps(step.otherwise, fn))
        elif isinstance(step, While):
            step = replace(step, body=_map_steps(step.body, fn))
        out.extend(fn(step))
    return tuple(out)


def _map_refs(workflow: Workflow, fn: Callable[[ValueRef], ValueRef]) -> Workflow:
    """Rewrite every value reference of a workflow (inputs of calls, conditions, outputs)."""

    def refs(mapping: Mapping[str, ValueRef]) -> dict[str, ValueRef]:
        return {name: fn(ref) for name, ref in mapping.items()}

    def step_fn(step: Step) -> tuple[Step, ...]:
        if isinstance(step, LaunchCalcs):
            return (replace(step, calls=tuple(replace(c, inputs=refs(c.inputs))
                                              for c in step.calls)),)
        if isinstance(step, LaunchWorkflow):
            return (replace(step, inputs=refs(step.inputs)),)
        if isinstance(step, (If, While)):
            return (replace(step, condition=fn(step.condition)),)
        return (replace(step, value=fn(step.value)),)

    return replace(workflow, steps=_map_steps(workflow.steps, step_fn),
                   outputs=refs(workflow.outputs))


def _without_step(s: Scenario, wf_index: int, name: str) -> Scenario:
    workflow = s.workflows[wf_index]
    kept = replace(workflow, steps=_map_steps(
        workflow.steps, lambda step: () if step.name == name else (step,)))
    repaired = _map_refs(kept, lambda ref: Const(0) if isinstance(ref, StepOutput)
                         and ref.step == name else ref)
    target = f"{workflow.name}.{name}"
    faults = tuple(f for f in s.faults if getattr(f, "target", None) != target)
    return _with_workflow(s, wf_index, repaired, faults=faults)


def _drop_steps(s: Scenario) -> Iterator[Build]:
    for index, workflow in enumerate(s.workflows):
        for step in list(iter_steps(workflow.steps)):
            yield partial(_without_step, s, index, step.name)


def _drop_calls(s: Scenario) -> Iterator[Build]:
    for index, workflow in enumerate(s.workflows):
        for step in iter_steps(workflow.steps):
            if isinstance(step, LaunchCalcs) and len(step.calls) > 1:
                for call in range(len(step.calls)):
                    yield partial(_without_call, s, index, step.name, call)


def _without_call(s: Scenario, wf_index: int, name: str, call: int) -> Scenario:
    def fn(step: Step) -> tuple[Step, ...]:
        if step.name != name or not isinstance(step, LaunchCalcs):
            return (step,)
        calls: tuple[CalcCall, ...] = step.calls[:call] + step.calls[call + 1:]
        return (replace(step, calls=calls),)

    workflow = s.workflows[wf_index]
    return _with_workflow(s, wf_index, replace(workflow, steps=_map_steps(workflow.steps, fn)))


def _drop_outputs(s: Scenario) -> Iterator[Build]:
    for index, workflow in enumerate(s.workflows):
        for name in workflow.outputs:
            def build(i: int = index, n: str = name) -> Scenario:
                w = s.workflows[i]
                changed = replace(w, outputs={k: v for k, v in w.outputs.items() if k != n})
                return _with_workflow(s, i, changed)
            yield build


def _drop_definitions(s: Scenario) -> Iterator[Build]:
    for index in range(1, len(s.workflows)):  # the first workflow is what launches run
        yield partial(_without_workflow, s, index)
    for index, calc in enumerate(s.calculations):
        target = f"calc:{calc.name}"
        yield partial(_without_calculation, s, index, target)


def _drop_inputs(s: Scenario) -> Iterator[Build]:
    for index, workflow in enumerate(s.workflows):
        for name in workflow.inputs:
            yield partial(_without_input, s, index, name)


def _without_input(s: Scenario, wf_index: int, name: str) -> Scenario:
    """Drop input ``name`` of a workflow, from its launches and its callers too (validation
    rejects the result if a step still reads it)."""
    target = s.workflows[wf_index]

    def callers(step: Step) -> tuple[Step, ...]:
        if isinstance(step, LaunchWorkflow) and step.workflow == target.name:
            return (replace(step, inputs={k: v for k, v in step.inputs.items() if k != name}),)
        return (step,)

    flows = tuple(replace(w, steps=_map_steps(w.steps, callers)) for w in s.workflows)
    flows = _with_workflow(replace(s, workflows=flows), wf_index, replace(
        flows[wf_index], inputs=tuple(i for i in target.inputs if i != name))).workflows
    ops = tuple(replace(op, inputs={k: v for k, v in op.inputs.items() if k != name})
                if isinstance(op, Launch) and op.workflow == target.name else op
                for op in s.launches)
    return replace(s, workflows=flows, launches=ops)


def _simpler(value: Any) -> Iterator[Any]:
    """Simpler replacements for one value, simplest first."""
    if value != 0 or type(value) is not int:
        yield 0
    if isinstance(value, dict):
        if value:
            yield {}
        for key in value:
            yield {k: v for k, v in value.items() if k != key}
        for key, item in value.items():
            for smaller in _simpler(item):
                yield {**value, key: smaller}
    elif isinstance(value, list):
        if value:
            yield []
        for index in range(len(value)):
            yield value[:index] + value[index + 1:]


def _simplify_values(s: Scenario) -> Iterator[Build]:
    seen: dict[str, Any] = {}
    for op in s.launches:
        if isinstance(op, Launch):
            for value in op.inputs.values():
                seen.setdefault(canonical(value), value)
    for key, value in seen.items():
        for smaller in _simpler(value):
            yield partial(_replace_value, s, key, smaller)


def _replace_value(s: Scenario, key: str, value: Any) -> Scenario:
    ops = tuple(
        replace(op, inputs={n: (value if canonical(v) == key else v)
                            for n, v in op.inputs.items()}) if isinstance(op, Launch) else op
        for op in s.launches)
    return replace(s, launches=ops)


def _simpler_fault(fault: Fault) -> Iterator[Fault]:
    if isinstance(fault, (KillAtCrashpoint, RaiseIn, FailCommit)) \
            and fault.attempt not in (None, 1):
        yield replace(fault, attempt=1)
    if isinstance(fault, KillOnEffect) and fault.effect_index > 1:
        yield replace(fault, effect_index=fault.effect_index - 1)


def _simplify_faults(s: Scenario) -> Iterator[Build]:
    for index, fault in enumerate(s.faults):
        for simpler in _simpler_fault(fault):
            yield partial(_with_fault, s, index, simpler)


def _simplify_loops(s: Scenario) -> Iterator[Build]:
    for index, workflow in enumerate(s.workflows):
        for step in iter_steps(workflow.steps):
            if isinstance(step, While) and step.max_iterations > 1:
                yield partial(_one_iteration, s, index, step.name)


def _one_iteration(s: Scenario, wf_index: int, name: str) -> Scenario:
    def fn(step: Step) -> tuple[Step, ...]:
        return (replace(step, max_iterations=1),) if step.name == name and isinstance(
            step, While) else (step,)

    workflow = s.workflows[wf_index]
    return _with_workflow(s, wf_index, replace(workflow, steps=_map_steps(workflow.steps, fn)))
