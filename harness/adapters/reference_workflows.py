"""Scenario workflows and calculations as reference-engine process types.

Why one generated class per scenario workflow (not one generic interpreter step): the
engine checkpoints after every outline step and names crashpoint targets
``<label>.<step>``, so each scenario step must be its own engine step for kills to land
on it and for continuation to be checked step by step. Classes are made from the
scenario by ``register`` and found by name through this module's ``__getattr__``
(PEP 562), because workers import process types as ``module:Name``. Workers learn the
scenario from ``$WFCONFORM_SESSION``; the definitions never travel as process inputs,
which would change the cache hash.

Names (digest = hash of the scenario's definitions, so types from different scenarios
never mix in one process's import cache):

- workflow ``W`` -> ``wf_W_<digest>``; step ``s`` -> engine step ``s_s``; after a
  launching step an extra engine step ``k_s`` collects the children (a failed child
  finishes the workflow with ``CHILD_FAILED_EXIT_STATUS``); ``if_x``/``while_x`` are
  conditions; ``finish`` sets the outputs. Only ``s_*`` steps are bodies.
- calculation ``C`` -> ``calc_C_<digest>``: one type per name (clause K8).
- labels: a workflow process ``<path>@W``; a calculation its effect key, so a
  calculation body knows its key. A top-level workflow's path is its launch label,
  read from ``launches.jsonl`` (a relaunch copies the old label, so it cannot be used).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from harness.adapters.reference_arrays import from_engine, to_engine
from harness.bodies import BodyRuntime
from harness.session import ENV_VAR, BodyPlan, Session
from reference_engine import CalcResult, Calculation, ExitCode, WorkChain, current_execution
from reference_engine import if_ as engine_if
from reference_engine import while_ as engine_while
from reference_engine.core.process import ChildRequest
from reference_engine.crashpoints import FAIL_COMMIT
from scenarios.calculations import evaluate_calculation
from scenarios.effects import calc_key, loop_prefix, step_key
from scenarios.language import (
    CHILD_FAILED_EXIT_STATUS,
    Compute,
    If,
    LaunchCalcs,
    LaunchWorkflow,
    Step,
    ValueRef,
    While,
    Workflow,
    iter_steps,
)
from scenarios.language import Calculation as ScenarioCalc
from scenarios.language import Const as ConstRef
from scenarios.language import Input as InputRef
from scenarios.scenario import Scenario

__all__ = [
    "DB_ENV_VAR",
    "LAUNCHES_FILE",
    "ScenarioCalculation",
    "ScenarioTypes",
    "ScenarioWorkflow",
    "engine_target",
    "register",
]

MODULE = __name__
DB_ENV_VAR = "WFCONFORM_REFERENCE_DB"
LAUNCHES_FILE = "launches.jsonl"
LABEL_WAIT = 30.0
_TYPES: dict[str, Any] = {}
_REGISTERED: OrderedDict[str, ScenarioTypes] = OrderedDict()
KEEP_REGISTERED = 256
"""Scenario definitions whose types stay registered, newest used last. Why a bound: a
fuzz campaign registers a new definition per scenario, and the classes (with the
scenario's values in their closures) were never freed: about 150 objects and 10 KB per
scenario, some 4 GB an hour at sim speed. A run uses only its own types (the newest),
and an evicted definition is made again, identical, if it comes back (its digest is
its content)."""


@dataclass(frozen=True)
class ScenarioTypes:
    """The engine type strings made for one scenario's definitions."""

    digest: str
    workflows: Mapping[str, str]
    calculations: Mapping[str, str]


def engine_target(target: str) -> str:
    """The engine's crashpoint pattern for a scenario fault target (see module docstring)."""
    if target.startswith("calc:"):
        return f"*:{target[5:]}"
    workflow, _, step = target.partition(".")
    return f"*@{workflow}.s_{step}"


def register(scenario: Scenario) -> ScenarioTypes:
    """Make (once) and publish the process types of ``scenario``'s definitions."""
    data = scenario.definitions_to_dict()
    text = json.dumps([data["workflows"], data["calculations"]], sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    if digest in _REGISTERED:
        _REGISTERED.move_to_end(digest)
        return _REGISTERED[digest]
    types = ScenarioTypes(
        digest,
        {w.name: f"{MODULE}:wf_{w.name}_{digest}" for w in scenario.workflows},
        {c.name: f"{MODULE}:calc_{c.name}_{digest}" for c in scenario.calculations},
    )
    for calc in scenario.calculations:
        type_string = types.calculations[calc.name]
        _TYPES[type_string.partition(":")[2]] = ScenarioCalculation(type_string, calc)
    for workflow in scenario.workflows:
        attr = types.workflows[workflow.name].partition(":")[2]
        _TYPES[attr] = _workflow_class(attr, workflow, types)
    _REGISTERED[digest] = types
    while len(_REGISTERED) > KEEP_REGISTERED:
        _forget(_REGISTERED.popitem(last=False)[1])
    return types


def _forget(types: ScenarioTypes) -> None:
    """Unpublish one evicted definition's types (``KEEP_REGISTERED``)."""
    for type_string in (*types.workflows.values(), *types.calculations.values()):
        _TYPES.pop(type_string.partition(":")[2], None)


def __getattr__(name: str) -> Any:
    """PEP 562: workers resolve ``wf_*``/``calc_*`` types from the session's scenario."""
    if name not in _TYPES and name.startswith(("wf_", "calc_")) and os.environ.get(ENV_VAR):
        register(Session.load(os.environ[ENV_VAR]).scenario)
    if name in _TYPES:
        return _TYPES[name]
    raise AttributeError(f"module {MODULE!r} has no attribute {name!r}")


# ---------------------------------------------------------------- engine-level kills
_WORKER_ENGINE: Any = None


def _worker_engine() -> Any:
    global _WORKER_ENGINE
    if _WORKER_ENGINE is None:
        from reference_engine import Engine

        _WORKER_ENGINE = Engine(os.environ[DB_ENV_VAR])
    return _WORKER_ENGINE


def disarm(engine: Any, crashpoint: str, pattern: str) -> None:
    """Remove armed faults of one crashpoint and pattern (the engine has only disarm_all)."""
    from sqlalchemy import delete

    from reference_engine.storage.schema import faults

    with engine.store.db.begin() as conn:
        conn.execute(delete(faults).where(faults.c.crashpoint == crashpoint,
                                          faults.c.target == pattern))


def arm_for_attempt(target: str, attempt: int, plan: BodyPlan) -> None:
    """Body hook: the engine arms a fault when its claim starts, so arm one attempt early.

    A kill planned for attempt n of a target at an engine-only crashpoint (after the
    checkpoint) is armed when attempt n-1 begins (attempt 1: by the adapter before the
    first launch) and disarmed when attempt n begins, after the engine loaded it. A
    refused commit (``fail_commit``) is asked for by attempt n itself, for its own commit.
    """
    todo = [(cp, n) for cp, t, n in plan.engine_kills if t == target] if plan.active else []
    if (FAIL_COMMIT, attempt) in todo:  # exactly this execution, not every claim meanwhile
        from reference_engine.runtime.context import request_commit_refusal

        request_commit_refusal()
    todo = [(cp, n) for cp, n in todo if cp != FAIL_COMMIT]
    if not todo:
        return
    from reference_engine.sim import current_simulation

    sim = current_simulation()  # the sim tier arms in memory, not through a SQLite URL
    engine = sim if sim is not None else _worker_engine()
    for crashpoint, n in todo:
        if n == attempt and sim is not None:
            sim.disarm(crashpoint, engine_target(target))
        elif n == attempt:
            disarm(engine, crashpoint, engine_target(target))
    for crashpoint, n in todo:
        if n == attempt + 1:
            engine.arm(crashpoint, engine_target(target), None)


# ---------------------------------------------------------------- calculations
class ScenarioCalculation(Calculation):
    """A scenario calculation type: ``evaluate_calculation`` run as a journalled body."""

    def __init__(self, type_string: str, definition: ScenarioCalc) -> None:
        invalidating = (definition.exit_status,) if definition.invalidates_cache else ()
        super().__init__(type_string, None, version=definition.version,
                         invalidating_exit_codes=invalidating, cacheable=definition.cacheable)
        self.definition = definition

    def run(self, inputs: dict[str, Any]) -> dict[str, Any] | CalcResult:
        execution = current_execution()
        if execution is None:
            raise RuntimeError(f"{self.type_string} ran outside an engine worker")
        definition = self.definition
        outputs = BodyRuntime.current().run(
            key=execution.label, target=f"calc:{definition.name}",
            process=str(execution.process_id), step=None, engine_attempt=execution.attempt,
            compute=lambda: evaluate_calculation(definition, from_engine(inputs)),
            on_begin=arm_for_attempt)
        outputs = to_engine(outputs)
        if definition.exit_status:
            return CalcResult(outputs, definition.exit_status, "planned non-zero exit status")
        return outputs


# ---------------------------------------------------------------- workflows
class ScenarioWorkflow(WorkChain):
    """Base of the generated workflow classes: value scope, paths and bodies."""

    definition: ClassVar[Workflow]
    types: ClassVar[ScenarioTypes]
    _plain_constants: ClassVar[dict[int, tuple[ConstRef, bool]]]
    """Per generated class: whether each constant of its definition holds no array."""

    def _set(self, step: str, value: dict[str, Any]) -> None:
        self.ctx["_v"] = {**self.ctx.get("_v", {}), step: value}  # copy: ctx is shared

    def _resolve(self, ref: ValueRef) -> Any:
        if isinstance(ref, ConstRef):
            # ``to_engine`` gives the value itself unless it holds an array (then fresh
            # NumPy arrays each time, which a body may change): walk each constant once.
            seen = self._plain_constants.get(id(ref))
            if seen is None:
                value = to_engine(ref.value)
                self._plain_constants[id(ref)] = (ref, value is ref.value)  # ref: id stays
                return value
            return ref.value if seen[1] else to_engine(ref.value)
        if isinstance(ref, InputRef):
            return self.inputs[ref.name]
        return self.ctx["_v"][ref.step][ref.key]

    def _path(self) -> str:
        """This instance's effect-key prefix, including the loop iterations it is in."""
        base = self.ctx.get("_path")
        if base is None:
            base = self.ctx["_path"] = _instance_path(self.process_id)
        for name, _count, index in self.ctx.get("_loops", []):
            base = loop_prefix(base, name, index)
        return base

    def _body(self, step: str) -> None:
        execution = current_execution()
        BodyRuntime.current().run(
            key=step_key(self._path(), step), target=f"{self.definition.name}.{step}",
            process=str(self.process_id), step=step,
            engine_attempt=execution.attempt if execution else None,
            compute=lambda: None, on_begin=arm_for_attempt)

    def finish(self) -> None:
        for name, ref in self.definition.outputs.items():
            self.out(name, self._resolve(ref))


def _instance_path(process_id: int) -> str:
    """``<path>@W`` labels name sub-workflows; top-level ones wait for the adapter's map."""
    execution = current_execution()
    place = execution.label.rpartition("@")[0] if execution else ""
    if "/" in place:
        return place
    session = BodyRuntime.current().session
    deadline = time.monotonic() + LABEL_WAIT
    while time.monotonic() < deadline:
        for record in session.read_log(session.workdir / LAUNCHES_FILE):
            if record["process"] == str(process_id):
                return str(record["label"])
        time.sleep(0.002)
    raise RuntimeError(f"process {process_id} has no launch label in {LAUNCHES_FILE}")


def _workflow_class(attr: str, workflow: Workflow, types: ScenarioTypes) -> type[WorkChain]:
    namespace: dict[str, Any] = {
        "inputs_spec": tuple(workflow.inputs),
        "outline": (*_outline(workflow.steps), "finish"),
        "definition": workflow,
        "types": types,
        "_plain_constants": {},
        "__module__": MODULE,
        "__qualname__": attr,
        "__doc__": f"Scenario workflow {workflow.name} (generated).",
    }
    for step in iter_steps(workflow.steps):
        namespace.update(_methods(step, types))
    return type(attr, (ScenarioWorkflow,), namespace)


def _outline(steps: tuple[Step, ...]) -> tuple[Any, ...]:
    items: list[Any] = []
    for step in steps:
        if isinstance(step, Compute):
            items.append(f"s_{step.name}")
        elif isinstance(step, (LaunchCalcs, LaunchWorkflow)):
            items += [f"s_{step.name}", f"k_{step.name}"]
        elif isinstance(step, If):
            items.append(engine_if(f"if_{step.name}")(*_outline(step.then))
                         .else_(*_outline(step.otherwise)))
        else:
            items.append(engine_while(f"while_{step.name}")(*_outline(step.body)))
    return tuple(items)


def _methods(step: Step, types: ScenarioTypes) -> dict[str, Callable[..., Any]]:
    if isinstance(step, Compute):
        return {f"s_{step.name}": _compute(step)}
    if isinstance(step, LaunchCalcs):
        return {f"s_{step.name}": _launch_calcs(step, types),
                f"k_{step.name}": _collect(step, len(step.calls))}
    if isinstance(step, LaunchWorkflow):
        return {f"s_{step.name}": _launch_workflow(step, types),
                f"k_{step.name}": _collect(step, 0)}
    if isinstance(step, If):
        return {f"if_{step.name}": _branch(step)}
    return {f"while_{step.name}": _loop(step)}


def _compute(step: Compute) -> Callable[[ScenarioWorkflow], None]:
    def method(self: ScenarioWorkflow) -> None:
        value = self._resolve(step.value)
        self._body(step.name)
        self._set(step.name, {"value": value})

    return method


def _launch_calcs(step: LaunchCalcs, types: ScenarioTypes) -> Callable[[ScenarioWorkflow], None]:
    def method(self: ScenarioWorkflow) -> None:
        path = self._path()
        self._body(step.name)
        for index, call in enumerate(step.calls):
            inputs = {name: self._resolve(ref) for name, ref in call.inputs.items()}
            self.requests.append(ChildRequest(
                f"_c{index}", types.calculations[call.calc], inputs,
                calc_key(path, step.name, index, call.calc)))

    return method


def _launch_workflow(step: LaunchWorkflow,
                     types: ScenarioTypes) -> Callable[[ScenarioWorkflow], None]:
    def method(self: ScenarioWorkflow) -> None:
        path = self._path()
        self._body(step.name)
        inputs = {name: self._resolve(ref) for name, ref in step.inputs.items()}
        self.requests.append(ChildRequest(
            "_child", types.workflows[step.workflow], inputs,
            f"{step_key(path, step.name)}@{step.workflow}"))

    return method


def _collect(step: LaunchCalcs | LaunchWorkflow,
             calls: int) -> Callable[[ScenarioWorkflow], ExitCode | None]:
    keys = [f"_c{i}" for i in range(calls)] if calls else ["_child"]

    def method(self: ScenarioWorkflow) -> ExitCode | None:
        views = [self.ctx.pop(key) for key in keys]
        for view in views:
            if view["state"] != "finished" or view["exit_status"] != 0:
                return ExitCode(CHILD_FAILED_EXIT_STATUS,
                                f"child {view['id']} of step {step.name} is {view['state']} "
                                f"with exit status {view['exit_status']}")
        if calls:
            self._set(step.name, {f"{i}.{name}": value for i, view in enumerate(views)
                                  for name, value in (view["outputs"] or {}).items()})
        else:
            self._set(step.name, dict(views[0]["outputs"] or {}))
        return None

    return method


def _branch(step: If) -> Callable[[ScenarioWorkflow], bool]:
    def method(self: ScenarioWorkflow) -> bool:
        taken = bool(from_engine(self._resolve(step.condition)))
        self._set(step.name, {"branch": "then" if taken else "otherwise"})
        return taken

    return method


def _loop(step: While) -> Callable[[ScenarioWorkflow], bool]:
    """The loop count is fixed at entry (``While.iterations``); the stack lives in ctx."""

    def method(self: ScenarioWorkflow) -> bool:
        loops = [list(entry) for entry in self.ctx.get("_loops", [])]
        if loops and loops[-1][0] == step.name:
            loops[-1][2] += 1
        else:
            condition = from_engine(self._resolve(step.condition))
            loops.append([step.name, step.iterations(condition), 0])
        _name, count, index = loops[-1]
        if index < count:
            self._set(step.name, {"iteration": index})
        else:
            loops.pop()
            self._set(step.name, {"iterations": count})
        self.ctx["_loops"] = loops
        return bool(index < count)

    return method
