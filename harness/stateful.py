"""A Hypothesis state machine that builds a scenario rule by rule, faults included.

Why faults are rules (DESIGN.md section 4): Hypothesis's swarm testing switches rules on
and off per test case, so some cases get only kills, some only exceptions, some none,
which finds bugs that a fixed fault mix dilutes; and shrinking removes a fault by
deleting its rule call. The machine accumulates launches, relaunches, caching changes
and faults (each fault kind its own rule, offered only when the adapter supports it),
then runs the scenario on a fresh engine at teardown and fails, with the scenario's JSON
and a replay command, if a promised clause fails. Each case is one real engine run.

Why ``program`` launches once: swarm testing often switches the ``launch`` rule off, and
a case without a launch never reaches the engine (about half the cases were empty).
Why the caps (launches, faults, caching changes) are checked inside the rules, which do
nothing at their cap, and not in preconditions: a precondition that counts earlier steps
changes which rules the later steps can draw, so deleting one step re-decodes all the
later ones and Hypothesis cannot shrink it away (a relaunch bug used to shrink to three
needless kills, a launch, the relaunch and another launch; now to the relaunch alone).

Why the failure is written with its record: Hypothesis replays the minimal failing case
last, so ``<out>/stateful.json`` ends up holding the shrunk scenario, and its
``stateful.verdict.json`` names the engine and tier, so that ``wfconform replay`` reruns
it where it failed (not on the default engine, where it would pass) and says whether the
same clauses failed with the same witness.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from harness.checks import ClauseResult
from harness.results import FailureRecord, write_failure
from harness.runner import AdapterFactory, RunOptions, ScenarioRun, run_scenario
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
                        on_scenario: Callable[[Scenario], None] | None = None,
                        engine: str | None = None) -> type[RuleBasedStateMachine]:
    """A state machine class for ``factory``'s adapter (see the module docstring).

    ``out``: where a failing scenario is written (``<out>/stateful.json``) so that the
    failure message can name a ``wfconform replay`` command. ``engine``: the ``--engine``
    spec that ``factory`` was loaded from; with it the failure record is written too and
    the replay runs on that engine and tier, without it the command asks for ``--engine``.
    """
    probe = factory()
    tier = probe.tier
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
            self.launch(data)  # every case runs the engine (see the module docstring)

        def _labels(self) -> list[str]:
            return list(self.inputs)

        @rule(data=st.data())
        def launch(self, data: st.DataObject) -> None:
            if len(self.inputs) >= MAX_LAUNCHES:
                return
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

        @precondition(lambda self: can["relaunch"])
        @rule(data=st.data())
        def relaunch(self, data: st.DataObject) -> None:
            if not 0 < len(self.inputs) < MAX_LAUNCHES:
                return
            origin = data.draw(st.sampled_from(self._labels()), label="relaunch of")
            label = "ABCDEFGH"[len(self.inputs)]
            self.ops.append(Relaunch(label, origin))
            self.inputs[label] = self.inputs[origin]

        @precondition(lambda self: can["set_caching"])
        @rule(default=st.booleans())
        def set_caching(self, default: bool) -> None:
            if len(self.ops) < 2 * MAX_LAUNCHES:
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

        @precondition(lambda self: can["raise_in"])
        @rule(data=st.data(), attempt=st.integers(1, 2))
        def raise_in(self, data: st.DataObject, attempt: int) -> None:
            if len(self.faults) >= MAX_FAULTS:
                return
            target = self._target(data)
            if self._claim(target, attempt):
                self.faults.append(RaiseIn(str(target), attempt))

        @precondition(lambda self: can["kill_at_crashpoint"] and bool(crashpoints))
        @rule(data=st.data(), attempt=st.integers(1, 2))
        def kill_at_crashpoint(self, data: st.DataObject, attempt: int) -> None:
            if len(self.faults) >= MAX_FAULTS:
                return
            point = data.draw(st.sampled_from(crashpoints), label="crashpoint")
            target = self._target(data, launching_only=point == "while_waiting")
            if self._claim(target, attempt):
                self.faults.append(KillAtCrashpoint(point, str(target), attempt))

        @precondition(lambda self: can["kill_on_effect"])
        @rule(entry=st.integers(1, 12))
        def kill_on_effect(self, entry: int) -> None:
            if len(self.faults) < MAX_FAULTS:
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
                raise AssertionError(_failure_text(run, failed, out, engine, tier,
                                                   run_options))

    return ConformanceMachine


def _failure_text(run: ScenarioRun, failed: tuple[ClauseResult, ...], out: Path | None,
                  engine: str | None, tier: str, options: RunOptions) -> str:
    lines = [f"{r.clause} failed: {r.sentence}" for r in failed]
    for result in failed[:1]:
        lines += [f"  | {w}" for w in result.witness]
    if out is not None:
        lines.append(_write_for_replay(run, failed, out, engine, tier, options))
    return "\n".join(lines)


def _write_for_replay(run: ScenarioRun, failed: tuple[ClauseResult, ...], out: Path,
                      engine: str | None, tier: str, options: RunOptions) -> str:
    """Write the failing case (with its record when ``engine`` is known); the hint line."""
    if engine is None:
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{run.scenario.name}.json"
        path.write_text(run.scenario.to_json(indent=2) + "\n", encoding="utf-8")
        return (f"replay the minimal failing case with: wfconform replay {path} "
                f"--tier {tier} --engine <the --engine spec of this adapter>")
    record = FailureRecord.of_run(engine, tier, run, failed, options)
    path = write_failure(out, run, record)
    return (f"replay the minimal failing case (on {engine}, tier {tier}, as recorded in "
            f"{path.with_suffix('.verdict.json').name}) with: wfconform replay {path}")
