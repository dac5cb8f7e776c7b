"""JSON codec for scenarios (format 2; format 1 files still load). See docs/scenarios.md.

Unions are tagged (`"kind"` for steps and faults, `"op"` for launch ops; value references
are one-key objects `{"const": v}`, `{"input": name}`, `{"step": s, "key": k}`), values use
`scenarios.values.encode_value`. The decoder is strict: unknown keys, missing fields and
wrong types are `InvalidScenarioError`s whose field is a path such as
`workflows[0].steps[2].value`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from scenarios.errors import InvalidScenarioError
from scenarios.faults import (
    TYPE_OF_KIND,
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
    fault_kind,
)
from scenarios.language import (
    CalcCall,
    Calculation,
    Compute,
    Const,
    If,
    Input,
    LaunchCalcs,
    LaunchWorkflow,
    Step,
    StepOutput,
    ValueRef,
    While,
    Workflow,
    step_kind,
)
from scenarios.plan import Invalidate, KillProcess, Launch, LaunchOp, Relaunch, SetCaching
from scenarios.scenario import FORMAT, READABLE_FORMATS, Scenario
from scenarios.values import decode_value, encode_value

T = TypeVar("T")

# -- encoding ------------------------------------------------------------------------


def _ref(ref: ValueRef) -> dict[str, Any]:
    if isinstance(ref, Const):
        return {"const": encode_value(ref.value)}
    if isinstance(ref, Input):
        return {"input": ref.name}
    return {"step": ref.step, "key": ref.key}


def _refs(mapping: Any) -> dict[str, Any]:
    return {name: _ref(ref) for name, ref in mapping.items()}


def _step(step: Step) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": step_kind(step), "name": step.name}
    if isinstance(step, Compute):
        out["value"] = _ref(step.value)
    elif isinstance(step, LaunchCalcs):
        out["calls"] = [{"calc": c.calc, "inputs": _refs(c.inputs)} for c in step.calls]
    elif isinstance(step, LaunchWorkflow):
        out["workflow"] = step.workflow
        out["inputs"] = _refs(step.inputs)
    elif isinstance(step, If):
        out["condition"] = _ref(step.condition)
        out["then"] = [_step(s) for s in step.then]
        out["otherwise"] = [_step(s) for s in step.otherwise]
    else:
        out["condition"] = _ref(step.condition)
        out["body"] = [_step(s) for s in step.body]
        out["max_iterations"] = step.max_iterations
    return out


def _fault(fault: Fault) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": fault_kind(fault)}
    out.update(vars(fault))
    return out


def _op(op: LaunchOp) -> dict[str, Any]:
    if isinstance(op, Launch):
        inputs = {name: encode_value(value) for name, value in op.inputs.items()}
        return {"op": "launch", "label": op.label, "workflow": op.workflow, "inputs": inputs}
    if isinstance(op, Relaunch):
        return {"op": "relaunch", "label": op.label, "of": op.of}
    if isinstance(op, SetCaching):
        return {"op": "set_caching", "default": op.default, "enabled": list(op.enabled),
                "disabled": list(op.disabled)}
    if isinstance(op, Invalidate):
        return {"op": "invalidate", "launch": op.launch, "calc_path": op.calc_path}
    return {"op": "kill", "launch": op.launch, "at_effect": op.at_effect}


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "name": scenario.name,
        "clause": scenario.clause,
        "description": scenario.description,
        "seed": scenario.seed,
        **definitions_to_dict(scenario),
        "faults": [_fault(f) for f in scenario.faults],
        "launches": [_op(op) for op in scenario.launches],
    }


def definitions_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The ``calculations`` and ``workflows`` of ``scenario_to_dict``, alone: what an
    adapter registers types from, without encoding the plan and faults each time."""
    return {
        "calculations": [dict(vars(calc)) for calc in scenario.calculations],
        "workflows": [
            {"name": w.name, "inputs": list(w.inputs), "steps": [_step(s) for s in w.steps],
             "outputs": _refs(w.outputs)}
            for w in scenario.workflows
        ],
    }


# -- decoding ------------------------------------------------------------------------


def _fields(data: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
            ) -> dict[str, Any]:
    """Check `data` is an object with these keys and no others; return it."""
    if type(data) is not dict:
        raise InvalidScenarioError(path, data, "a JSON object", "write an object here")
    missing = [key for key in required if key not in data]
    unknown = [key for key in data if key not in required and key not in optional]
    if missing or unknown:
        raise InvalidScenarioError(
            path, sorted(data), f"keys {list(required)} (+ optional {list(optional)})",
            f"add {missing}" if missing else f"remove unknown keys {unknown}",
        )
    return data


def _list(data: Any, path: str) -> list[Any]:
    if type(data) is not list:
        raise InvalidScenarioError(path, data, "a JSON array", "write an array here")
    return data


def _build(path: str, make: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a constructor, prefixing its errors with the JSON path."""
    try:
        return make(*args, **kwargs)
    except InvalidScenarioError as error:
        raise InvalidScenarioError(
            f"{path}: {error.field}", error.value, error.expected, error.fix
        ) from error


def _read_ref(data: Any, path: str) -> ValueRef:
    if type(data) is dict and len(data) == 1 and "const" in data:
        return _build(path, Const, decode_value(data["const"], f"{path}.const", _READING.get()))
    if type(data) is dict and len(data) == 1 and "input" in data:
        return _build(path, Input, data["input"])
    obj = _fields(data, path, ("step", "key"))
    return _build(path, StepOutput, obj["step"], obj["key"])


def _read_refs(data: Any, path: str) -> dict[str, ValueRef]:
    if type(data) is not dict:
        raise InvalidScenarioError(path, data, "a JSON object of references", "write {}")
    return {name: _read_ref(item, f"{path}.{name}") for name, item in data.items()}


def _read_steps(data: Any, path: str) -> tuple[Step, ...]:
    return tuple(_read_step(item, f"{path}[{i}]") for i, item in enumerate(_list(data, path)))


def _read_step(data: Any, path: str) -> Step:
    kind = data.get("kind") if type(data) is dict else None
    if kind == "compute":
        obj = _fields(data, path, ("kind", "name", "value"))
        return _build(path, Compute, obj["name"], _read_ref(obj["value"], f"{path}.value"))
    if kind == "launch_calcs":
        obj = _fields(data, path, ("kind", "name", "calls"))
        calls = []
        for i, item in enumerate(_list(obj["calls"], f"{path}.calls")):
            call = _fields(item, f"{path}.calls[{i}]", ("calc", "inputs"))
            inputs = _read_refs(call["inputs"], f"{path}.calls[{i}].inputs")
            calls.append(_build(f"{path}.calls[{i}]", CalcCall, call["calc"], inputs))
        return _build(path, LaunchCalcs, obj["name"], tuple(calls))
    if kind == "launch_workflow":
        obj = _fields(data, path, ("kind", "name", "workflow", "inputs"))
        inputs = _read_refs(obj["inputs"], f"{path}.inputs")
        return _build(path, LaunchWorkflow, obj["name"], obj["workflow"], inputs)
    if kind == "if":
        obj = _fields(data, path, ("kind", "name", "condition", "then", "otherwise"))
        return _build(path, If, obj["name"], _read_ref(obj["condition"], f"{path}.condition"),
                      _read_steps(obj["then"], f"{path}.then"),
                      _read_steps(obj["otherwise"], f"{path}.otherwise"))
    if kind == "while":
        obj = _fields(data, path, ("kind", "name", "condition", "body", "max_iterations"))
        return _build(path, While, obj["name"], _read_ref(obj["condition"], f"{path}.condition"),
                      _read_steps(obj["body"], f"{path}.body"), obj["max_iterations"])
    raise InvalidScenarioError(
        f"{path}.kind", kind, "one of compute, launch_calcs, launch_workflow, if, while",
        "set the step's kind",
    )


_FAULT_FIELDS: dict[type, tuple[tuple[str, ...], tuple[str, ...]]] = {
    RaiseIn: (("target",), ("attempt",)),
    KillAtCrashpoint: (("crashpoint", "target"), ("attempt",)),
    KillOnEffect: (("effect_index",), ()),
    RestartBroker: (("at_effect",), ("hard",)),
    RestartDatabase: (("at_effect",), ()),
    DropConnection: (("at_effect",), ()),
    FailCommit: (("target",), ("attempt",)),
    ExpireLease: (("at_effect",), ()),
    DuplicateDelivery: (("at_effect",), ()),
    PauseService: (("at_effect",), ("service", "seconds")),
    PartitionService: (("at_effect",), ("service", "seconds")),
}


def _read_fault(data: Any, path: str) -> Fault:
    kind = data.get("kind") if type(data) is dict else None
    if kind not in TYPE_OF_KIND:
        raise InvalidScenarioError(
            f"{path}.kind", kind, f"one of {sorted(TYPE_OF_KIND)}", "set the fault's kind"
        )
    cls = TYPE_OF_KIND[kind]
    required, optional = _FAULT_FIELDS[cls]
    obj = _fields(data, path, ("kind", *required), optional)
    fault: Fault = _build(path, cls, **{k: v for k, v in obj.items() if k != "kind"})
    return fault


def _read_op(data: Any, path: str) -> LaunchOp:
    op = data.get("op") if type(data) is dict else None
    if op == "launch":
        obj = _fields(data, path, ("op", "label", "workflow", "inputs"))
        if type(obj["inputs"]) is not dict:
            raise InvalidScenarioError(f"{path}.inputs", obj["inputs"], "an object", "write {}")
        inputs = {k: decode_value(v, f"{path}.inputs.{k}", _READING.get())
                  for k, v in obj["inputs"].items()}
        return _build(path, Launch, obj["label"], obj["workflow"], inputs)
    if op == "relaunch":
        obj = _fields(data, path, ("op", "label", "of"))
        return _build(path, Relaunch, obj["label"], obj["of"])
    if op == "set_caching":
        obj = _fields(data, path, ("op", "default"), ("enabled", "disabled"))
        return _build(path, SetCaching, obj["default"],
                      tuple(_list(obj.get("enabled", []), f"{path}.enabled")),
                      tuple(_list(obj.get("disabled", []), f"{path}.disabled")))
    if op == "invalidate":
        obj = _fields(data, path, ("op", "launch", "calc_path"))
        return _build(path, Invalidate, obj["launch"], obj["calc_path"])
    if op == "kill":
        obj = _fields(data, path, ("op", "launch"), ("at_effect",))
        return _build(path, KillProcess, obj["launch"], obj.get("at_effect"))
    raise InvalidScenarioError(
        f"{path}.op", op, "one of launch, relaunch, set_caching, invalidate, kill",
        "set the operation's op",
    )


_READING: ContextVar[int] = ContextVar("scenario_format", default=FORMAT)
"""Format of the file being read: format 1 files may hold only format 1 value tags."""


def scenario_from_dict(data: Any) -> Scenario:
    if type(data) is not dict or data.get("format") not in READABLE_FORMATS:
        found = data.get("format") if type(data) is dict else data
        raise InvalidScenarioError(
            "format", found, f"format {' or '.join(map(str, READABLE_FORMATS))}",
            "re-export the scenario with this version of wfconform, or convert it",
        )
    token = _READING.set(data["format"])
    try:
        return _scenario_from_dict(data)
    finally:
        _READING.reset(token)


def _scenario_from_dict(data: dict[str, Any]) -> Scenario:
    obj = _fields(data, "scenario", ("format", "name", "workflows", "calculations", "launches"),
                  ("faults", "clause", "description", "seed"))
    calcs = []
    for i, item in enumerate(_list(obj["calculations"], "calculations")):
        fields = _fields(item, f"calculations[{i}]", ("name", "function"),
                         ("cacheable", "exit_status", "invalidates_cache", "version"))
        calcs.append(_build(f"calculations[{i}]", Calculation, **fields))
    workflows = []
    for i, item in enumerate(_list(obj["workflows"], "workflows")):
        path = f"workflows[{i}]"
        fields = _fields(item, path, ("name", "inputs", "steps"), ("outputs",))
        workflows.append(_build(
            path, Workflow, fields["name"], tuple(_list(fields["inputs"], f"{path}.inputs")),
            _read_steps(fields["steps"], f"{path}.steps"),
            _read_refs(fields.get("outputs", {}), f"{path}.outputs"),
        ))
    faults = tuple(_read_fault(item, f"faults[{i}]")
                   for i, item in enumerate(_list(obj.get("faults", []), "faults")))
    ops = tuple(_read_op(item, f"launches[{i}]")
                for i, item in enumerate(_list(obj["launches"], "launches")))
    return _build("scenario", Scenario, obj["name"], tuple(workflows), tuple(calcs), ops, faults,
                  obj.get("clause"), obj.get("description", ""), obj.get("seed"))
