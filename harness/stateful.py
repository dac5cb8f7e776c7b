"""A Hypothesis state machine that builds a scenario rule by rule, faults included.

Why faults are rules (DESIGN.md section 4): Hypothesis's swarm testing switches rules on
and off per test case, so some cases get only kills, some only exceptions, some none,
which finds bugs that a fixed fault mix dilutes; and shrinking removes a fault by
deleting its rule call. The machine accumulates launches, relaunches, caching changes
and faults (each fault kind its own rule, offered only when the adapter supports it),
then runs the scenario on a fresh engine at teardown and fails, with the scenario's JSON
and a replay command, if a promised clause fails. Each case is one real engine run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from harness.runner import AdapterFactory, RunOptions, run_scenario
from scenarios.faults import CRASHPOINTS, Fault, KillAtCrashpoint, KillOnEffect, RaiseIn
from scenarios.language import Calculation, Compute, LaunchCalcs, LaunchWorkflow, Workflow
from scenarios.plan import Launch, LaunchOp, Relaunch, SetCaching
from scenarios.scenario import Scenario
from scenarios.strategies import calculations, values, workflows

__all__ = ["conformance_machine"]

MAX_LAUNCHES = 4
MAX_FAULTS = 3


def _bodies(flows: tuple[Workflow, ...], calcs: tuple[Calculation, ...]
            ) -> tuple[list[str], list[str]]:
    """(every fault target with a body, the launching steps among them)."""
    from scenarios.language import iter_steps

    bodies, launching = [], []
    for workflow in flows:
        for step in iter_steps(workflow.steps):
            if isinstance(step, (Compute, LaunchCalcs, LaunchWorkflow)):
                bodies.append(f"{workflow.name}.{step.name}")
            if isinstance(step, (LaunchCalcs, LaunchWorkflow)):
                launching.append(f"{workflow.name}.{step.name}")
    return bodies + [f"calc:{c.name}" for c in calcs], launching


def conformance_machine(factory: AdapterFactory, options: RunOptions | None = None,
                        out: Path | None = None,
                        on_scenario: Callable[[Scenario], None] | None = None
                        ) -> type[RuleBasedStateMachine]:
    """A state machine class for ``factory``'s adapter (see the module docstring).

    ``out``: where a failing scenario is written (``<out>/<name>.json``) so that the
    failure message can name a ``wfconform replay`` command.
    """
    probe = factory()
    caps = probe.capabilities()
    promised = frozenset(caps.promised - caps.expected_failures)
    crashpoints = sorted(caps.crashpoints & frozenset(CRASHPOINTS))
    can = {kind: probe.supports(kind) for kind in
           ("raise_in", "kill_at_crashpoint", "kill_on_effect", "relaunch", "set_caching")}
    run_options = options or RunOptions()

    class ConformanceMachine(RuleBasedStateMachine):
        """Launches, relaunches, caching and faults as rules; the run at teardown."""

        def __init__(self) -> None:
            super().__init__()
            self.flows: tuple[Workflow, ...] = ()
            self.calcs: tuple[Calculation, ...] = ()
            self.ops: list[LaunchOp] = []
            self.faults: list[Fault] = []
            self.inputs: dict[str, dict[str, Any]] = {}
            self.claimed: set[tuple[str, int]] = set()

        @initialize(data=st.data())
        def program(self, data: st.DataObject) -> None:
            self.calcs = data.draw(calculations(max_calculations=2), label="calculations")
            self.flows = data.draw(workflows(self.calcs, max_steps=4, max_workflows=2),
                                   label="workflows")

        def _labels(self) -> list[str]:
            return list(self.inputs)

        @precondition(lambda self: len(self.inputs) < MAX_LAUNCHES)
        @rule(data=st.data())
        def launch(self, data: st.DataObject) -> None:
            main = self.flows[0]
            same = bool(self.inputs) and data.draw(st.booleans(), label="same inputs as before")
            if same:
                inputs = dict(self.inputs[data.draw(st.sampled_from(self._labels()))])
            else:
                inputs = {name: data.draw(values(max_leaves=3), label=name)
                          for name in main.inputs}
            label = "ABCDEFGH"[len(self.inputs)]
            self.ops.append(Launch(label, main.name, inputs))
            self.inputs[label] = inputs

        @precondition(lambda self: can["relaunch"] and 0 < len(self.inputs) < MAX_LAUNCHES)
        @rule(data=st.data())
        def relaunch(self, data: st.DataObject) -> None:
            origin = data.draw(st.sampled_from(self._labels()), label="relaunch of")
            label = "ABCDEFGH"[len(self.inputs)]
            self.ops.append(Relaunch(label, origin))
            self.inputs[label] = self.inputs[origin]

        @precondition(lambda self: can["set_caching"] and len(self.ops) < 2 * MAX_LAUNCHES)
        @rule(default=st.booleans())
        def set_caching(self, default: bool) -> None:
            self.ops.append(SetCaching(default))

        def _target(self, data: st.DataObject, launching_only: bool = False) -> str | None:
            bodies, launching = _bodies(self.flows, self.calcs)
            pool = launching if launching_only else bodies
            return data.draw(st.sampled_from(pool), label="target") if pool else None

        def _claim(self, target: str | None, attempt: int) -> bool:
            if target is None or (target, attempt) in self.claimed:
                return False
            self.claimed.add((target, attempt))
            return True

        @precondition(lambda self: can["raise_in"] and len(self.faults) < MAX_FAULTS)
        @rule(data=st.data(), attempt=st.integers(1, 2))
        def raise_in(self, data: st.DataObject, attempt: int) -> None:
            target = self._target(data)
            if self._claim(target, attempt):
                self.faults.append(RaiseIn(str(target), attempt))

        @precondition(lambda self: can["kill_at_crashpoint"] and bool(crashpoints)
                      and len(self.faults) < MAX_FAULTS)
        @rule(data=st.data(), attempt=st.integers(1, 2))
        def kill_at_crashpoint(self, data: st.DataObject, attempt: int) -> None:
            point = data.draw(st.sampled_from(crashpoints), label="crashpoint")
            target = self._target(data, launching_only=point == "while_waiting")
            if self._claim(target, attempt):
                self.faults.append(KillAtCrashpoint(point, str(target), attempt))

        @precondition(lambda self: can["kill_on_effect"] and len(self.faults) < MAX_FAULTS)
        @rule(entry=st.integers(1, 12))
        def kill_on_effect(self, entry: int) -> None:
            self.faults.append(KillOnEffect(entry))

        def teardown(self) -> None:
            if not self.inputs:
                return
            scenario = Scenario("stateful", self.flows, self.calcs, tuple(self.ops),
                                tuple(self.faults)).validate()
            if on_scenario is not None:
                on_scenario(scenario)
            note(scenario.to_json())
            run = run_scenario(factory, scenario, run_options)
            failed = run.failed(promised)
            if failed:
                raise AssertionError(_failure_text(scenario, failed, out))

    return ConformanceMachine


def _failure_text(scenario: Scenario, failed: Any, out: Path | None) -> str:
    lines = [f"{r.clause} failed: {r.sentence}" for r in failed]
    for result in failed[:1]:
        lines += [f"  | {w}" for w in result.witness]
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        path = out / "stateful.json"
        path.write_text(scenario.to_json(indent=2) + "\n", encoding="utf-8")
        lines.append(f"replay the last failing case with: wfconform replay {path}")
    return "\n".join(lines)
