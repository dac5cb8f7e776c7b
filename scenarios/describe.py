"""`describe(scenario)`: a scenario as a short program a person reads in a failure report.

The output is for humans, not for parsing (JSON is the exchange format). Strings are
shown with `ascii()` so that NFC and NFD spellings of the same text look different, and
large powers of two as `2**n`, because those are the distinctions scenarios test.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from scenarios.faults import (
    DropConnection,
    DuplicateDelivery,
    ExpireLease,
    FailCommit,
    Fault,
    KillAtCrashpoint,
    KillOnEffect,
    PartitionService,
    PauseService,
    RaiseIn,
    RestartBroker,
    RestartDatabase,
)
from scenarios.language import (
    Calculation,
    Compute,
    Const,
    If,
    Input,
    LaunchCalcs,
    LaunchWorkflow,
    Step,
    ValueRef,
    While,
    Workflow,
)
from scenarios.plan import Invalidate, KillProcess, Launch, LaunchOp, Relaunch, SetCaching
from scenarios.scenario import Scenario

__all__ = ["describe", "describe_fault", "describe_value"]


def describe_value(value: Any) -> str:
    """A literal as it appears in `describe` output."""
    kind = type(value)
    if kind is str:
        return ascii(value)
    if kind is int and abs(value) > 2**32 and abs(value) & (abs(value) - 1) == 0:
        return f"{'-' if value < 0 else ''}2**{abs(value).bit_length() - 1}"
    if kind is float and (math.isnan(value) or math.isinf(value)):
        return repr(value)
    if kind is list:
        return "[" + ", ".join(describe_value(item) for item in value) + "]"
    if kind is dict:
        items = (f"{k!a}: {describe_value(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    return repr(value)


def _ref(ref: ValueRef) -> str:
    if isinstance(ref, Const):
        return describe_value(ref.value)
    if isinstance(ref, Input):
        return ref.name
    return f"{ref.step}.{ref.key}"


def _args(mapping: Mapping[str, Any], render: Any = _ref) -> str:
    return ", ".join(f"{name}={render(item)}" for name, item in mapping.items())


def _steps(steps: tuple[Step, ...], indent: str, out: list[str]) -> None:
    for step in steps:
        head = f"{indent}{step.name}: "
        if isinstance(step, Compute):
            out.append(f"{head}compute {_ref(step.value)}")
        elif isinstance(step, LaunchCalcs):
            calls = ", ".join(f"{c.calc}({_args(c.inputs)})" for c in step.calls)
            out.append(f"{head}launch {calls}")
        elif isinstance(step, LaunchWorkflow):
            out.append(f"{head}run {step.workflow}({_args(step.inputs)})")
        elif isinstance(step, If):
            out.append(f"{head}if {_ref(step.condition)}:")
            _steps(step.then, indent + "  ", out)
            if step.otherwise:
                out.append(f"{indent}else:")
                _steps(step.otherwise, indent + "  ", out)
        elif isinstance(step, While):
            out.append(f"{head}repeat {_ref(step.condition)} times, at most "
                       f"{step.max_iterations}:")
            _steps(step.body, indent + "  ", out)


def _workflow(workflow: Workflow, out: list[str]) -> None:
    out.append(f"workflow {workflow.name}({', '.join(workflow.inputs)}):")
    _steps(workflow.steps, "  ", out)
    if workflow.outputs:
        out.append(f"  return {_args(workflow.outputs)}")


def _calculation(calc: Calculation) -> str:
    notes = [] if calc.function == calc.name else [calc.function]
    if calc.exit_status:
        notes.append(f"exit {calc.exit_status}"
                     + (" invalidating cache" if calc.invalidates_cache else ""))
    if not calc.cacheable:
        notes.append("not cacheable")
    if calc.version != 1:
        notes.append(f"v{calc.version}")
    return calc.name + (f" [{', '.join(notes)}]" if notes else "")


def describe_fault(fault: Fault) -> str:
    """One fault as a phrase, e.g. `raise in AddThreeNumbers.add_xyz on attempt 1`."""
    if isinstance(fault, RaiseIn):
        when = "every attempt" if fault.attempt is None else f"attempt {fault.attempt}"
        return f"raise in {fault.target} on {when}"
    if isinstance(fault, KillAtCrashpoint):
        return f"kill at {fault.crashpoint} in {fault.target} on attempt {fault.attempt}"
    if isinstance(fault, KillOnEffect):
        return f"kill worker on entry {fault.effect_index}"
    if isinstance(fault, RestartBroker):
        return f"restart broker{' (hard)' if fault.hard else ''} at entry {fault.at_effect}"
    if isinstance(fault, RestartDatabase):
        return f"restart database at entry {fault.at_effect}"
    if isinstance(fault, DropConnection):
        return f"drop connections at entry {fault.at_effect}"
    if isinstance(fault, FailCommit):
        return f"fail the checkpoint commit of {fault.target} on attempt {fault.attempt}"
    if isinstance(fault, ExpireLease):
        return f"expire the lease of the worker at entry {fault.at_effect} (task taken over)"
    if isinstance(fault, PauseService):
        return f"pause the {fault.service} for {fault.seconds:g} s at entry {fault.at_effect}"
    if isinstance(fault, PartitionService):
        return (f"cut the {fault.service} off the workers for {fault.seconds:g} s at entry "
                f"{fault.at_effect}")
    if isinstance(fault, DuplicateDelivery):
        return f"deliver the task at entry {fault.at_effect} again, to another worker"
    raise TypeError(f"not a fault: {fault!r}")


def _op(op: LaunchOp) -> str:
    if isinstance(op, Launch):
        return f"launch {op.label} = {op.workflow}({_args(op.inputs, describe_value)})"
    if isinstance(op, Relaunch):
        return f"relaunch {op.label} of {op.of}"
    if isinstance(op, SetCaching):
        text = "caching " + ("on" if op.default else "off")
        parts = []
        if op.enabled:
            parts.append("on for " + ", ".join(op.enabled))
        if op.disabled:
            parts.append("off for " + ", ".join(op.disabled))
        return text + (f" ({'; '.join(parts)})" if parts else "")
    if isinstance(op, Invalidate):
        return f"invalidate {op.launch} {op.calc_path}"
    if isinstance(op, KillProcess):
        when = "" if op.at_effect is None else f" at its entry {op.at_effect}"
        return f"kill {op.launch}{when}"
    raise TypeError(f"not a launch op: {op!r}")


def describe(scenario: Scenario) -> str:
    """The scenario as a short readable program (header, calculations, workflows, plan)."""
    head = f"scenario {scenario.name}"
    if scenario.clause:
        head += f" [{scenario.clause}]"
    if scenario.seed is not None:
        head += f" (seed {scenario.seed})"
    out = [head]
    if scenario.description:
        out.append("# " + scenario.description.replace("\n", "\n# "))
    if scenario.calculations:
        out.append("calculations: " + ", ".join(_calculation(c) for c in scenario.calculations))
    for workflow in scenario.workflows:
        _workflow(workflow, out)
    if scenario.faults:
        out.append("faults: " + "; ".join(describe_fault(f) for f in scenario.faults))
    out.extend(_op(op) for op in scenario.launches)
    return "\n".join(out)
