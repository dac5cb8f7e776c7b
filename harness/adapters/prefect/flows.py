"""Scenario workflows as one Prefect flow, steps and calculations as Prefect tasks.

This module is imported by the Runner's flow-run processes (the served deployment) and
by the harness (for the deployment's flow). One generic flow interprets any scenario
workflow: it learns the scenario from the session file named by its ``session``
parameter, so one Runner serves every scenario of a run.

How the scenario's notions map onto Prefect (each choice is what a Prefect user would
write, so deviations found are Prefect's, not the mapping's):

- a **workflow** is a flow run; a sub-workflow is a subflow run (in the same process);
- a **step body** is a task run of the task ``wfconform-step`` with Prefect's default
  cache policy (``INPUTS + TASK_SOURCE + RUN_ID``) and a persisted result: this is how a
  Prefect flow "resumes" after a retry of the same flow run: completed step tasks are
  cache hits of that same run. The step's effect key is its input (its place), so two
  steps never share a key;
- a **calculation** is a task run of a task named after the calculation type, whose cache
  policy comes from the run's caching configuration at the moment of the call
  (``policy.policy_for``). Its inputs are exactly the scenario inputs: the effect key and
  the definition travel out of band (a ``ContextVar``), never as task parameters, which
  would change the hash (issue 18, point 9). Type identity is Prefect's own
  ``TASK_SOURCE``: each type gets its own source text (name, version and the scenario's
  namespace, then the body's real source), as two ``@task`` functions would;
- a calculation's **exit status** (Prefect has none) is a returned ``Failed`` state whose
  message starts ``exit status N``: Prefect never caches it (``failed_source_policy``
  ``never``); a failed child ends the workflow with ``Failed('exit status 1 ...')``.

Crashpoints: the body ones are the body runtime's; ``after_checkpoint_before_ack`` and
``while_waiting`` are emulated here (``_engine_kill``): the first after a step's or a
calculation's task run returned with its result persisted (Prefect's only checkpoint),
the second after a launching step's calculations were submitted, before they are
awaited. Both fire once per body attempt: a retried run whose step is a cache hit runs
no body, so it never re-arms the kill (issue 18, point 8).
"""

from __future__ import annotations

import inspect
import json
import os
from contextvars import ContextVar
from typing import Any

from prefect import flow, tags, task
from prefect.cache_policies import INPUTS, RUN_ID, TASK_SOURCE
from prefect.context import FlowRunContext, TaskRunContext
from prefect.states import Failed

from harness.adapters.prefect.policy import (
    CACHING_FILE,
    EXIT_PREFIX,
    NOTES_FILE,
    calc_source,
    policy_for,
)
from harness.bodies import BodyRuntime
from harness.journal import AppendLog
from harness.session import ENV_VAR, BodyPlan
from scenarios._value_codec import decode_value
from scenarios.calculations import evaluate_calculation
from scenarios.effects import calc_key, loop_prefix, step_key
from scenarios.language import (
    CHILD_FAILED_EXIT_STATUS,
    Compute,
    If,
    LaunchCalcs,
    LaunchWorkflow,
    Step,
    StepOutput,
    ValueRef,
    While,
)
from scenarios.language import Calculation as ScenarioCalc
from scenarios.language import Const as ConstRef
from scenarios.language import Input as InputRef

__all__ = ["FLOW_NAME", "STEP_TASK", "scenario_flow"]

FLOW_NAME = "wfconform-scenario"
STEP_TASK = "wfconform-step"
_CALL: ContextVar[tuple[str, ScenarioCalc]] = ContextVar("wfconform_call")
_STEP: ContextVar[tuple[str, str, str]] = ContextVar("wfconform_step")
_LAST_ATTEMPT: dict[str, int] = {}


class ChildFailed(Exception):
    """A child calculation or sub-workflow did not finish with exit status 0."""


# ---------------------------------------------------------------- bodies
def _remember_attempt(target: str, attempt: int, plan: BodyPlan) -> None:
    _LAST_ATTEMPT[target] = attempt


def _engine_kill(crashpoint: str, target: str, key: str, process: str) -> None:
    """SIGKILL this flow-run process if ``crashpoint`` is armed for the attempt just run."""
    runtime = BodyRuntime.current()
    plan = runtime.plan()
    attempt = _LAST_ATTEMPT.get(target)
    if not plan.active or attempt is None or \
            (crashpoint, target, attempt) not in plan.engine_kills:
        return
    runtime.land_engine_kill(crashpoint, target, attempt, key, process)


def _step_name() -> str:
    return _STEP.get()[0]


@task(name=STEP_TASK, cache_policy=INPUTS + TASK_SOURCE + RUN_ID, persist_result=True,
      task_run_name=_step_name)
def step_task(key: str) -> None:
    """One workflow step body, journalled; a retry of the same flow run hits its result."""
    _key, target, step = _STEP.get()
    context = FlowRunContext.get()
    run = context.flow_run if context is not None else None
    BodyRuntime.current().run(
        key=key, target=target, process=str(run.id) if run else "?", step=step,
        engine_attempt=run.run_count if run else None, compute=lambda: None,
        on_begin=_remember_attempt)


def _calc_name() -> str:
    return _CALL.get()[0]


def calculation_body(inputs: dict[str, Any]) -> Any:
    """A scenario calculation: ``evaluate_calculation`` run as a journalled body."""
    key, definition = _CALL.get()
    context = TaskRunContext.get()
    task_run = context.task_run if context is not None else None
    process = str(task_run.id) if task_run is not None else "?"
    outputs = BodyRuntime.current().run(
        key=key, target=f"calc:{definition.name}", process=process, step=None,
        engine_attempt=task_run.run_count if task_run is not None else None,
        compute=lambda: evaluate_calculation(definition, inputs), on_begin=_remember_attempt)
    _note({"executed": process, "key": key, "cache_key": _transaction_key()})
    if definition.exit_status:
        return Failed(message=f"{EXIT_PREFIX}{definition.exit_status}: planned non-zero exit",
                      data=outputs)
    return outputs


_BODY_SOURCE = inspect.getsource(calculation_body)


def _transaction_key() -> str | None:
    from prefect.transactions import get_transaction

    transaction = get_transaction()
    return getattr(transaction, "key", None) if transaction is not None else None


def _note(record: dict[str, Any]) -> None:
    session = os.environ.get(ENV_VAR)
    if session:
        with AppendLog(os.path.join(os.path.dirname(session), NOTES_FILE)) as log:
            log.append(record)


def _calc_task(definition: ScenarioCalc, namespace: str, workdir: str) -> Any:
    """A Prefect task for one calculation type, with the policy configured now."""
    config = _read_caching(workdir)
    policy, key_fn = policy_for(config, definition, namespace)
    options: dict[str, Any] = {"name": definition.name, "persist_result": True,
                               "task_run_name": _calc_name}
    if key_fn is not None:
        options["cache_key_fn"] = key_fn
    else:
        options["cache_policy"] = policy
    made = task(calculation_body, **options)
    made.source_code = calc_source(definition, namespace, _BODY_SOURCE)
    return made


def _read_caching(workdir: str) -> dict[str, Any]:
    try:
        with open(os.path.join(workdir, CACHING_FILE), encoding="utf-8") as handle:
            return dict(json.load(handle))
    except FileNotFoundError:
        return {}


# ---------------------------------------------------------------- the interpreter
class _Walk:
    """One workflow instance: its value scope, its path and its steps."""

    def __init__(self, workflow: Any, path: str, inputs: dict[str, Any], namespace: str,
                 workdir: str, session: str) -> None:
        self.workflow, self.path, self.inputs = workflow, path, inputs
        self.namespace, self.workdir, self.session = namespace, workdir, session
        self.values: dict[str, dict[str, Any]] = {}
        scenario = BodyRuntime.current().session.scenario
        self.calcs = {c.name: c for c in scenario.calculations}
        context = FlowRunContext.get()
        self.process = str(context.flow_run.id) if context and context.flow_run else "?"

    def resolve(self, ref: ValueRef) -> Any:
        if isinstance(ref, ConstRef):
            return ref.value
        if isinstance(ref, InputRef):
            return self.inputs[ref.name]
        assert isinstance(ref, StepOutput)
        return self.values[ref.step][ref.key]

    def body(self, prefix: str, step: str) -> None:
        key, target = step_key(prefix, step), f"{self.workflow.name}.{step}"
        _LAST_ATTEMPT.pop(target, None)  # a cache hit runs no body: no attempt to kill on
        token = _STEP.set((key, target, step))
        try:
            step_task(key)
        finally:
            _STEP.reset(token)
        _engine_kill("after_checkpoint_before_ack", target, key, self.process)

    def run(self, steps: tuple[Step, ...], prefix: str) -> None:
        for step in steps:
            if isinstance(step, Compute):
                value = self.resolve(step.value)
                self.body(prefix, step.name)
                self.values[step.name] = {"value": value}
            elif isinstance(step, LaunchCalcs):
                self.launch_calcs(step, prefix)
            elif isinstance(step, LaunchWorkflow):
                self.launch_workflow(step, prefix)
            elif isinstance(step, If):
                taken = bool(self.resolve(step.condition))
                self.values[step.name] = {"branch": "then" if taken else "otherwise"}
                self.run(step.then if taken else step.otherwise, prefix)
            else:
                assert isinstance(step, While)
                count = step.iterations(self.resolve(step.condition))
                for index in range(count):
                    self.values[step.name] = {"iteration": index}
                    self.run(step.body, loop_prefix(prefix, step.name, index))
                self.values[step.name] = {"iterations": count}

    def launch_calcs(self, step: LaunchCalcs, prefix: str) -> None:
        self.body(prefix, step.name)
        futures = []
        for index, call in enumerate(step.calls):
            definition = self.calcs[call.calc]
            key = calc_key(prefix, step.name, index, call.calc)
            _LAST_ATTEMPT.pop(f"calc:{call.calc}", None)
            inputs = {name: self.resolve(ref) for name, ref in call.inputs.items()}
            token = _CALL.set((key, definition))
            try:
                futures.append(_calc_task(definition, self.namespace, self.workdir)
                               .submit(inputs))
            finally:
                _CALL.reset(token)
        _engine_kill("while_waiting", f"{self.workflow.name}.{step.name}",
                     step_key(prefix, step.name), self.process)
        states = [future.wait() or future.state for future in futures]
        values: dict[str, Any] = {}
        for index, (call, state) in enumerate(zip(step.calls, states, strict=True)):
            if not state.is_completed():
                raise ChildFailed(f"child {index}:{call.calc} of step {step.name} is "
                                  f"{state.type.value}: {state.message}")
            _engine_kill("after_checkpoint_before_ack", f"calc:{call.calc}",
                         calc_key(prefix, step.name, index, call.calc), self.process)
            for name, value in (state.result() or {}).items():
                values[f"{index}.{name}"] = value
        self.values[step.name] = values

    def launch_workflow(self, step: LaunchWorkflow, prefix: str) -> None:
        self.body(prefix, step.name)
        inputs = {name: self.resolve(ref) for name, ref in step.inputs.items()}
        path = step_key(prefix, step.name)
        child = scenario_flow.with_options(flow_run_name=path)
        state = child(self.session, step.workflow, path, _encode(inputs), self.namespace,
                      return_state=True)
        if not state.is_completed():
            raise ChildFailed(f"sub-workflow {path} of step {step.name} is "
                              f"{state.type.value}: {state.message}")
        self.values[step.name] = dict(state.result() or {})


def _encode(inputs: dict[str, Any]) -> str:
    from scenarios._value_codec import encode_value

    return json.dumps({name: encode_value(value) for name, value in inputs.items()})


@flow(name=FLOW_NAME, persist_result=True, log_prints=False)
def scenario_flow(session: str, workflow: str, label: str, inputs: str,
                  namespace: str) -> Any:
    """Run scenario workflow ``workflow`` as instance ``label`` (its path)."""
    os.environ[ENV_VAR] = session
    runtime = BodyRuntime.current()
    definition = next(w for w in runtime.session.scenario.workflows if w.name == workflow)
    values = {name: decode_value(value) for name, value in json.loads(inputs).items()}
    with tags(namespace):
        walk = _Walk(definition, label, values, namespace, str(runtime.session.workdir),
                     session)
        try:
            walk.run(definition.steps, label)
        except ChildFailed as failed:
            return Failed(message=f"{EXIT_PREFIX}{CHILD_FAILED_EXIT_STATUS}: {failed}")
        return {name: walk.resolve(ref) for name, ref in definition.outputs.items()}
