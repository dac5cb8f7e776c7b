"""The scenario outline as Celery tasks run it: pure code, no Celery import.

Why a re-walk instead of a program counter: a workflow's progress travels inside its
messages (as a Celery chain's remainder does), as ``done``, the outputs of every plain
step it completed, keyed by effect key. ``next_action`` walks the outline from the top,
evaluates ``If`` and ``While`` from those outputs (conditions are pure functions of
them) and returns the first plain step not yet done, or the end. The same ``done`` always
gives the same answer, so a redelivered message continues exactly where its sender was.

Ids (``ids_of_launch`` lists them all, so a kill can revoke a launch by id): a
top-level workflow is a fresh id ``R``; every other process is ``R`` plus the path of the
step that made it (``R/inner``, ``R/fan/0:add``), so process ids are deterministic like
the ids of a Celery chain, frozen when it is sent. A workflow's Celery tasks are
``<process>|<step>`` (one step body), ``<process>|<step>|collect`` (the chord body that
gathers its children) and ``<process>|$end`` (a workflow that has no step to run).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from scenarios import (
    CalcCall,
    Compute,
    Const,
    If,
    Input,
    LaunchCalcs,
    LaunchWorkflow,
    Scenario,
    Step,
    StepOutput,
    ValueRef,
    While,
    calc_key,
    loop_prefix,
    step_key,
)

__all__ = [
    "END",
    "Action",
    "calc_inputs",
    "child_key",
    "collect_task_id",
    "end_task_id",
    "ids_of_launch",
    "next_action",
    "process_id",
    "resolve",
    "step_task_id",
]

END = "$end"


@dataclass(frozen=True)
class Action:
    """What a workflow does next: run ``step`` (its effect key ``key`` and the values in
    scope, ``env``), or, when ``step`` is None, finish with ``outputs``."""

    step: Step | None
    key: str | None
    env: Mapping[str, Mapping[str, Any]]
    outputs: Mapping[str, Any] | None = None


def resolve(ref: ValueRef, inputs: Mapping[str, Any], env: Mapping[str, Mapping[str, Any]]
            ) -> Any:
    """The value of ``ref`` in a scope (workflow inputs, outputs of steps in scope)."""
    if isinstance(ref, Const):
        return ref.value
    if isinstance(ref, Input):
        return inputs[ref.name]
    assert isinstance(ref, StepOutput)
    return env[ref.step][ref.key]


class _Pending(Exception):
    """Raised inside the walk to stop at the first step not yet done."""

    def __init__(self, step: Step, key: str, env: dict[str, dict[str, Any]]) -> None:
        super().__init__(key)
        self.step, self.key, self.env = step, key, env


def _walk(steps: tuple[Step, ...], prefix: str, inputs: Mapping[str, Any],
          env: dict[str, dict[str, Any]], done: Mapping[str, Mapping[str, Any]]) -> None:
    for step in steps:
        if isinstance(step, If):
            taken = bool(resolve(step.condition, inputs, env))
            _walk(step.then if taken else step.otherwise, prefix, inputs, env, done)
            env[step.name] = {"branch": "then" if taken else "otherwise"}
        elif isinstance(step, While):
            count = step.iterations(resolve(step.condition, inputs, env))
            for iteration in range(count):
                inner = dict(env)
                inner[step.name] = {"iteration": iteration}
                _walk(step.body, loop_prefix(prefix, step.name, iteration), inputs, inner, done)
            env[step.name] = {"iterations": count}
        else:
            key = step_key(prefix, step.name)
            if key not in done:
                raise _Pending(step, key, dict(env))
            env[step.name] = dict(done[key])


def next_action(scenario: Scenario, workflow: str, prefix: str, inputs: Mapping[str, Any],
                done: Mapping[str, Mapping[str, Any]]) -> Action:
    """The first plain step of ``workflow`` (effects under ``prefix``) not in ``done``."""
    definition = scenario.workflow(workflow)
    env: dict[str, dict[str, Any]] = {}
    try:
        _walk(definition.steps, prefix, inputs, env, done)
    except _Pending as pending:
        return Action(pending.step, pending.key, pending.env)
    outputs = {name: resolve(ref, inputs, env) for name, ref in definition.outputs.items()}
    return Action(None, None, env, outputs)


def calc_inputs(call: CalcCall, inputs: Mapping[str, Any],
                env: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {name: resolve(ref, inputs, env) for name, ref in call.inputs.items()}


def child_key(key: str, index: int, calc: str) -> str:
    """Effect key of call ``index`` of the LaunchCalcs step whose key is ``key``."""
    prefix, _, name = key.rpartition("/")
    return calc_key(prefix, name, index, calc)


def process_id(root: str, label: str, key: str) -> str:
    """Id of the process at effect key ``key`` (a sub-workflow or calculation)."""
    return root + key[len(label):]


def step_task_id(process: str, prefix: str, key: str) -> str:
    return f"{process}|{key[len(prefix) + 1:]}"


def collect_task_id(process: str, prefix: str, key: str) -> str:
    return f"{process}|{key[len(prefix) + 1:]}|collect"


def end_task_id(process: str) -> str:
    return f"{process}|{END}"


def _ids(scenario: Scenario, workflow: str, process: str, prefix: str,
         steps: tuple[Step, ...], root: str, label: str) -> Iterator[str]:
    for step in steps:
        if isinstance(step, If):
            yield from _ids(scenario, workflow, process, prefix, step.then, root, label)
            yield from _ids(scenario, workflow, process, prefix, step.otherwise, root, label)
        elif isinstance(step, While):
            for iteration in range(step.max_iterations):
                yield from _ids(scenario, workflow, process,
                                loop_prefix(prefix, step.name, iteration), step.body, root,
                                label)
        else:
            key = step_key(prefix, step.name)
            yield step_task_id(process, _process_prefix(prefix, process, root, label), key)
            if isinstance(step, LaunchCalcs):
                yield collect_task_id(process, _process_prefix(prefix, process, root, label),
                                      key)
                for index, call in enumerate(step.calls):
                    yield process_id(root, label, child_key(key, index, call.calc))
            elif isinstance(step, LaunchWorkflow):
                yield collect_task_id(process, _process_prefix(prefix, process, root, label),
                                      key)
                child = process_id(root, label, key)
                yield end_task_id(child)
                yield from _ids(scenario, step.workflow, child, key,
                                scenario.workflow(step.workflow).steps, root, label)
            elif not isinstance(step, Compute):  # pragma: no cover - the language is closed
                raise TypeError(step)


def _process_prefix(prefix: str, process: str, root: str, label: str) -> str:
    """Effect prefix of ``process`` (its path), whatever loop segments follow it."""
    return label + process[len(root):]


def ids_of_launch(scenario: Scenario, label: str, root: str) -> tuple[str, ...]:
    """Every Celery task id launch ``label`` (top-level id ``root``) could ever send."""
    workflow = scenario.workflow(scenario.launch_workflow(label))
    return (end_task_id(root),
            *_ids(scenario, workflow.name, root, label, workflow.steps, root, label))
