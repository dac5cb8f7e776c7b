"""`ScenarioWorkChain`: one AiiDA WorkChain that runs any scenario workflow, step by step.

The scenario's outline is data, so the AiiDA outline is a loop,
`start, while_(has_next)(advance), finish`, and `advance` executes exactly one plain
scenario step (`Compute`, `LaunchCalcs`, `LaunchWorkflow`) per call, descending through
`If` and `While` (which execute no effect) on the way. AiiDA checkpoints after every
outline step, so the scenario's "a workflow is checkpointed after every step" holds one
to one, and the interpreter's position (a stack of frames) lives in `self.ctx`.

Inputs: `scenario` (the scenario as JSON; workflows are never cached, so it costs no
cache key), `workflow` (which workflow to run) and `args` (the workflow's inputs as data
nodes). Calcfunctions are called inside the step, the only way a WorkChain can run them
(`WorkChain.submit` refuses process functions: "Cannot submit a process function"), so a
worker killed inside one replays the whole step; CalcJobs are submitted and awaited.
The process label of the node (`metadata.label`) is the effect-key prefix: the launch
label for a top-level process, the parent's key for a sub-workflow.

Children get a `call_link_label` that encodes their path below this workflow's prefix
(see `encode_link`), so the observer can name every node, even a cache hit, whose
label AiiDA copies from its source.
"""

from __future__ import annotations

import json
from typing import Any

from aiida import orm
from aiida.common.links import LinkType
from aiida.engine import ExitCode, ToContext, WorkChain, while_
from aiida.plugins import CalculationFactory

from harness.adapters.aiida.calcs import ADD_ENTRY_POINT, load_table, uses_job
from harness.adapters.aiida.crashpoints import begin_hook
from harness.adapters.aiida.jobbody import JOBS_FILE
from harness.adapters.aiida.values import from_node, pk, to_node
from harness.bodies import BodyRuntime
from harness.journal import AppendLog
from scenarios.calculations import calculation_output_names
from scenarios.effects import calc_key, loop_prefix, step_key
from scenarios.language import (
    CHILD_FAILED_EXIT_STATUS,
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
from scenarios.scenario import Scenario
from scenarios.values import decode_value, encode_value

__all__ = ["OUTPUTS_EXTRA", "ScenarioWorkChain", "decode_link", "encode_link", "workflow_outputs"]

OUTPUTS_EXTRA = "wfconform_outputs"
"""Extra holding every workflow output as tagged JSON (a WorkChain cannot create nodes,
so outputs computed from constants cannot be AiiDA outputs; node-backed ones are both)."""

_ESCAPES = {"_": "_0", "/": "_1", ":": "_2", "#": "_3"}
_UNESCAPES = {v[1]: k for k, v in _ESCAPES.items()}


def encode_link(path: str) -> str:
    """A valid AiiDA link label for a relative effect path such as `loop#1/fit/0:add`."""
    return "k" + "".join(_ESCAPES.get(char, char) for char in path)


def decode_link(label: str) -> str | None:
    """Inverse of `encode_link`; None for labels the WorkChain did not write."""
    if not label.startswith("k"):
        return None
    out, chars = [], iter(label[1:])
    for char in chars:
        if char == "_":
            code = next(chars, "")
            if code not in _UNESCAPES:
                return None
            out.append(_UNESCAPES[code])
        else:
            out.append(char)
    return "".join(out)


def _pack(value: Any) -> Any:
    """A ctx-safe form: nodes as themselves, plain values as tagged JSON text."""
    if isinstance(value, orm.Data):
        return value
    return {"json": json.dumps(encode_value(value))}


def _unpack(packed: Any) -> Any:
    if isinstance(packed, orm.Data):
        return packed
    return decode_value(json.loads(packed["json"]))


def _plain(value: Any) -> Any:
    return from_node(value) if isinstance(value, orm.Data) else value


def _as_node(value: Any) -> orm.Data:
    return value if isinstance(value, orm.Data) else to_node(value)


class ScenarioWorkChain(WorkChain):
    """Interprets one scenario workflow (see the module docstring)."""

    @classmethod
    def define(cls, spec: Any) -> None:
        super().define(spec)
        spec.input("scenario", valid_type=orm.Str, help="the scenario, as Scenario.to_json")
        spec.input("workflow", valid_type=orm.Str, help="name of the workflow to run")
        spec.input_namespace("args", dynamic=True, valid_type=orm.Data, required=False)
        spec.outputs.dynamic = True
        spec.outline(cls.start,
                     while_(cls.has_next)(cls.advance),  # type: ignore[arg-type]  # AiiDA types steps as WorkChain methods, not subclass methods
                     cls.finish)

    # -- interpreter state ---------------------------------------------------------------

    def _wfc_scenario(self) -> Scenario:
        cached = getattr(self, "_wfc_parsed", None)
        if cached is None:
            cached = Scenario.from_json(self.inputs.scenario.value, validate=False)
            self._wfc_parsed = cached
        return cached

    def _wfc_workflow(self) -> Workflow:
        return self._wfc_scenario().workflow(self.inputs.workflow.value)

    def _wfc_block(self, path: list[Any]) -> tuple[Step, ...]:
        block = self._wfc_workflow().steps
        for index, branch in zip(path[::2], path[1::2], strict=True):
            block = getattr(block[index], branch)
        return block

    def _wfc_resolve(self, ref: ValueRef) -> Any:
        if isinstance(ref, Const):
            return ref.value
        if isinstance(ref, Input):
            return self.inputs.args[ref.name]
        return _unpack(self.ctx.env[ref.step][ref.key])

    def _wfc_set_env(self, step: str, outputs: dict[str, Any]) -> None:
        self.ctx.env[step] = {key: _pack(value) for key, value in outputs.items()}

    # -- outline -------------------------------------------------------------------------

    def start(self) -> None:
        """Enter the workflow's top block; the prefix is this node's label."""
        self.ctx.stack = [{"path": [], "pc": 0, "prefix": self.node.label, "kind": "block"}]
        self.ctx.env = {}
        self.ctx.pending = None
        self.ctx.serial = 0

    def has_next(self) -> bool:
        return bool(self.ctx.stack) or self.ctx.pending is not None

    def advance(self) -> ExitCode | ToContext | None:
        """Collect the last step's children, then run the next plain step (one effect)."""
        if self.ctx.pending is not None:
            failed = self._wfc_collect(self.ctx.pending)
            self.ctx.pending = None
            if failed:
                return ExitCode(CHILD_FAILED_EXIT_STATUS, f"child process failed: {failed}")
        while self.ctx.stack:
            frame = self.ctx.stack[-1]
            block = self._wfc_block(frame["path"])
            if frame["pc"] >= len(block):
                self._wfc_leave(frame)
                continue
            step = block[frame["pc"]]
            frame["pc"] += 1
            if isinstance(step, If):
                self._wfc_enter_if(frame, step)
            elif isinstance(step, While):
                self._wfc_enter_while(frame, step, frame["path"] + [frame["pc"] - 1, "body"])
            else:
                return self._wfc_execute(step, frame["prefix"])
        return None

    def finish(self) -> None:
        """Attach node-backed outputs; record every output as tagged JSON in an extra."""
        recorded = {}
        for name, ref in self._wfc_workflow().outputs.items():
            value = self._wfc_resolve(ref)
            if isinstance(value, orm.Data) and value.is_stored:
                self.out(name, value)
            recorded[name] = encode_value(_plain(value))
        self.node.base.extras.set(OUTPUTS_EXTRA, json.dumps(recorded))

    # -- control steps -------------------------------------------------------------------

    def _wfc_enter_if(self, frame: dict[str, Any], step: If) -> None:
        branch = "then" if _plain(self._wfc_resolve(step.condition)) else "otherwise"
        self.ctx.stack.append({"path": frame["path"] + [frame["pc"] - 1, branch], "pc": 0,
                               "prefix": frame["prefix"], "kind": "if", "name": step.name,
                               "branch": branch})

    def _wfc_enter_while(self, frame: dict[str, Any], step: While, path: list[Any]) -> None:
        count = step.iterations(_plain(self._wfc_resolve(step.condition)))
        if count == 0:
            self._wfc_set_env(step.name, {"iterations": 0})
            return
        self._wfc_set_env(step.name, {"iteration": 0})
        self.ctx.stack.append({"path": path, "pc": 0, "kind": "while", "name": step.name,
                               "outer": frame["prefix"], "iteration": 0, "count": count,
                               "prefix": loop_prefix(frame["prefix"], step.name, 0)})

    def _wfc_leave(self, frame: dict[str, Any]) -> None:
        if frame["kind"] == "while" and frame["iteration"] + 1 < frame["count"]:
            frame["iteration"] += 1
            frame["pc"] = 0
            frame["prefix"] = loop_prefix(frame["outer"], frame["name"], frame["iteration"])
            self._wfc_set_env(frame["name"], {"iteration": frame["iteration"]})
            return
        self.ctx.stack.pop()
        if frame["kind"] == "while":
            self._wfc_set_env(frame["name"], {"iterations": frame["count"]})
        elif frame["kind"] == "if":
            self._wfc_set_env(frame["name"], {"branch": frame["branch"]})

    # -- plain steps ---------------------------------------------------------------------

    def _wfc_execute(self, step: Step, prefix: str) -> ToContext | None:
        """The step's body (journal, faults), then its launches, as the reference does.

        Launching after the body keeps a `RaiseIn` step from leaving orphans, and puts
        an `after_effect_before_checkpoint` kill before any child exists.
        """
        key = step_key(prefix, step.name)
        BodyRuntime.current().run(
            key=key, target=f"{self._wfc_workflow().name}.{step.name}",
            process=str(self.node.pk), step=step.name, engine_attempt=None,
            compute=lambda: None, on_begin=begin_hook(str(self.node.pk), key))
        waits: dict[str, orm.ProcessNode] = {}
        if isinstance(step, Compute):
            self._wfc_set_env(step.name, {"value": self._wfc_resolve(step.value)})
        elif isinstance(step, LaunchCalcs):
            waits = self._wfc_launch_calcs(step, prefix)
        elif isinstance(step, LaunchWorkflow):
            waits = self._wfc_launch_workflow(step, prefix)
        return ToContext(**waits) if waits else None

    def _wfc_relative(self, key: str) -> str:
        prefix = self.node.label
        return key[len(prefix) + 1:] if key.startswith(prefix + "/") else key

    def _wfc_launch_calcs(self, step: LaunchCalcs, prefix: str) -> dict[str, orm.ProcessNode]:
        table = load_table(BodyRuntime.current().session.workdir)
        calls, waits = [], {}
        for index, call in enumerate(step.calls):
            kind = table.types[call.calc]
            key = calc_key(prefix, step.name, index, call.calc)
            inputs = {name: self._wfc_resolve(ref) for name, ref in call.inputs.items()}
            metadata = {"label": key, "call_link_label": encode_link(self._wfc_relative(key))}
            outputs = calculation_output_names(self._wfc_scenario().calculation(call.calc).function,
                                               call.inputs)
            entry = {"index": index, "outputs": list(outputs), "link": metadata["call_link_label"]}
            if uses_job(kind, {n: _plain(v) for n, v in inputs.items()}):
                waits[self._wfc_wait_key(index)] = self._wfc_submit_job(
                    kind, inputs, metadata, f"calc:{call.calc}")
                entry["ctx"] = self._wfc_wait_key(index)
            else:
                entry["node"] = self._wfc_call_inline(kind.function, inputs, metadata)
            calls.append(entry)
        self.ctx.pending = {"step": step.name, "kind": "calcs", "calls": calls}
        self.ctx.serial += 1
        return waits

    def _wfc_wait_key(self, index: int) -> str:
        return f"wait_{self.ctx.serial}_{index}"

    def _wfc_submit_job(self, kind: Any, inputs: dict[str, Any], metadata: dict[str, Any],
                        target: str) -> orm.ProcessNode:
        """Submit the CalcJob; tell its job body (`jobbody`) its key before it can run."""
        if kind.job_class:
            job = _import(kind.job_class.replace(":", "."))
        else:
            job = CalculationFactory(ADD_ENTRY_POINT)
        node = self.submit(job, code=orm.load_code("add@localhost"),
                           x=_as_node(inputs["x"]), y=_as_node(inputs["y"]),
                           metadata={**metadata, "options": {"resources": {"num_machines": 1}}})
        with AppendLog(BodyRuntime.current().session.workdir / JOBS_FILE) as jobs:
            jobs.append({"uuid": node.uuid, "key": metadata["label"], "target": target,
                         "process": str(node.pk)})
        return node

    def _wfc_call_inline(self, function_path: str, inputs: dict[str, Any],
                     metadata: dict[str, Any]) -> orm.ProcessNode:
        """Run a calcfunction in this step; an exception leaves it excepted, not us."""
        function = _import(function_path)
        args = {name: _as_node(value) for name, value in inputs.items()}
        try:
            _, node = function.run_get_node(**args, metadata=metadata)
        except Exception:
            node = self._wfc_called(metadata["call_link_label"])
            if node is None:
                raise
        return node

    def _wfc_called(self, link: str) -> orm.ProcessNode | None:
        nodes = self.node.base.links.get_outgoing(
            link_type=LinkType.CALL_CALC, link_label_filter=link).all_nodes()
        processes = [node for node in nodes if isinstance(node, orm.ProcessNode)]
        return max(processes, key=pk) if processes else None

    def _wfc_launch_workflow(self, step: LaunchWorkflow, prefix: str) -> dict[str, orm.ProcessNode]:
        key = step_key(prefix, step.name)
        inputs = {"scenario": self.inputs.scenario, "workflow": orm.Str(step.workflow),
                  "args": {name: _as_node(self._wfc_resolve(ref))
                           for name, ref in step.inputs.items()},
                  "metadata": {"label": key,
                               "call_link_label": encode_link(self._wfc_relative(key))}}
        wait = self._wfc_wait_key(0)
        self.ctx.pending = {"step": step.name, "kind": "workflow", "ctx": wait}
        self.ctx.serial += 1
        return {wait: self.submit(ScenarioWorkChain, **inputs)}

    # -- collecting children -------------------------------------------------------------

    def _wfc_collect(self, pending: dict[str, Any]) -> str:
        """Put the children's outputs in the environment; return a failure text or ''."""
        if pending["kind"] == "workflow":
            child = self.ctx[pending["ctx"]]
            if not child.is_finished_ok:
                return f"workflow {child.pk} is {child.process_state.value} " \
                       f"(exit status {child.exit_status})"
            self._wfc_set_env(pending["step"], workflow_outputs(child))
            return ""
        outputs: dict[str, Any] = {}
        failures = []
        for entry in pending["calls"]:
            node = entry["node"] if "node" in entry else self.ctx[entry["ctx"]]
            if not node.is_finished_ok:
                state = node.process_state.value if node.process_state else "unknown"
                failures.append(f"calculation {node.pk} is {state} "
                                f"(exit status {node.exit_status})")
                continue
            for name in entry["outputs"]:
                outputs[f"{entry['index']}.{name}"] = node.outputs[name]
        if failures:
            return "; ".join(failures)
        self._wfc_set_env(pending["step"], outputs)
        return ""


def workflow_outputs(node: orm.WorkflowNode) -> dict[str, Any]:
    """A finished ScenarioWorkChain's outputs: linked nodes, else the recorded values.

    Read link by link, not through `node.outputs`, which raises on a duplicate label:
    two executors of one process (after a broker restart) can both return `out`. Equal
    duplicates read as the value; differing ones as the list of all values, so the
    verdict sees what AiiDA holds instead of the run crashing.
    """
    recorded = json.loads(node.base.extras.get(OUTPUTS_EXTRA, "{}"))
    out: dict[str, Any] = {name: decode_value(item) for name, item in recorded.items()}
    for name in out:
        linked = node.base.links.get_outgoing(link_type=LinkType.RETURN,
                                              link_label_filter=name).all_nodes()
        values = [from_node(item) for item in linked]
        if len(linked) == 1 or (linked and all(v == values[0] for v in values)):
            out[name] = linked[0]
        elif linked:
            out[name] = values
    return out


def _import(path: str) -> Any:
    import importlib

    module, _, name = path.rpartition(".")
    importlib.invalidate_caches()  # modules are generated while the worker runs
    return getattr(importlib.import_module(module), name)
