"""The oracle: a pure model of what a correct engine must do with a scenario.

`expect(scenario, capabilities)` walks the scenario as the model engine would (see
`scenarios.oracle._interpreter` and docs/scenarios.md for the assumptions) and returns an
`Expectation`: per launch the allowed final states, exit status and outputs; per effect
key the execution bounds; per calculation node the cache decision and its sources; the
process-id relations; and the clauses the scenario exercises. It never imports an
engine or the harness, so every engine is judged by the same model.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

from scenarios._scenario_values import scenario_values
from scenarios.capabilities import CHILD_FAILURE_RULES, Capabilities
from scenarios.faults import FailCommit, Fault, KillAtCrashpoint, KillOnEffect, RaiseIn
from scenarios.oracle._cache import contains_unknown
from scenarios.oracle._interpreter import Interpreter, Result
from scenarios.oracle._ledger import External, LaunchState, Ledger, Undecided
from scenarios.oracle.expectation import (
    CacheExpectation,
    EffectBound,
    Expectation,
    IdRelation,
    LaunchExpectation,
)
from scenarios.plan import Invalidate, KillProcess, Launch, Relaunch, SetCaching
from scenarios.scenario import Scenario
from scenarios.values import VALUE_KINDS, FrozenMap, canonical

__all__ = [
    "CacheExpectation",
    "EffectBound",
    "Expectation",
    "IdRelation",
    "LaunchExpectation",
    "expect",
]


def _as_modelled(faults: tuple[Fault, ...]) -> tuple[Fault, ...]:
    """The faults as the interpreter models them: the one place `FailCommit` is mapped.

    A refused checkpoint commit after attempt n's effect is, for every clause, a kill at
    `after_effect_before_checkpoint` on attempt n: the effect ran, nothing of it was
    saved, the task is redelivered and the body runs again as attempt n+1.
    """
    return tuple(KillAtCrashpoint("after_effect_before_checkpoint", f.target, f.attempt)
                 if isinstance(f, FailCommit) else f for f in faults)


def _externals(faults: tuple[Fault, ...]) -> list[External]:
    out = []
    for fault in faults:
        if isinstance(fault, KillOnEffect):
            out.append(External(fault, fault.effect_index))
        elif not isinstance(fault, (RaiseIn, KillAtCrashpoint)):
            out.append(External(fault, fault.at_effect))
    return out


def _not_applicable(scenario: Scenario, capabilities: Capabilities) -> tuple[str, ...]:
    reasons = []
    for fault in scenario.faults:
        if isinstance(fault, KillAtCrashpoint) and fault.crashpoint not in capabilities.crashpoints:
            reasons.append(f"the engine cannot arm crashpoint {fault.crashpoint}")
    if len(capabilities.value_kinds) < len(VALUE_KINDS):
        for where, value in scenario_values(scenario):
            refused = capabilities.refused_kinds(value)
            if refused:
                reasons.append(f"the engine does not take {', '.join(sorted(refused))} values "
                               f"({where})")
    return tuple(dict.fromkeys(reasons))


def _id_relations(scenario: Scenario) -> list[IdRelation]:
    relations = []
    origin = {op.label: op.of for op in scenario.launches if isinstance(op, Relaunch)}
    for a, b in combinations(scenario.launch_labels(), 2):
        if origin.get(b) == a:
            reason = f"{b} is a new instance of {a} (N2)"
        elif scenario.launch_workflow(a) == scenario.launch_workflow(b) and canonical(
                dict(scenario.launch_inputs(a))) == canonical(dict(scenario.launch_inputs(b))):
            reason = "equal inputs launched twice make two processes: workflows are never cached"
        else:
            reason = "one launch makes one process (L2)"
        relations.append(IdRelation(a, b, False, reason))
    return relations


class _Run:
    """Drives the interpreter over the launch plan and assembles the `Expectation`."""

    def __init__(self, scenario: Scenario, capabilities: Capabilities) -> None:
        self.scenario = scenario
        modelled = _as_modelled(scenario.faults)
        self.ledger = Ledger(modelled, _externals(modelled))
        self.interp = Interpreter(scenario, capabilities, self.ledger)
        self.launches: dict[str, LaunchExpectation] = {}
        self.undecided: list[str] = []
        self.armed = {op.launch: op.at_effect for op in scenario.launches
                      if isinstance(op, KillProcess) and op.at_effect is not None}

    def launch(self, label: str, relaunch_of: str | None) -> None:
        scenario = self.scenario
        workflow = scenario.workflow(scenario.launch_workflow(label))
        inputs = scenario.launch_inputs(label)
        self.ledger.launch = LaunchState(label, self.armed.get(label))
        self.interp.exercises.update({"L1", "L2", "P2"})
        if relaunch_of is not None:
            self.interp.exercises.update({"N2", "N3"})
        if self.undecided:
            self.launches[label] = LaunchExpectation(
                label, workflow.name, inputs, frozenset(), None, None, decided=False,
                relaunch_of=relaunch_of, reason="follows an undecided launch")
            return
        try:
            result = self.interp.run_workflow(workflow, dict(inputs), label)
        except Undecided as error:
            self.undecided.append(f"launch {label}: {error.reason}")
            self.launches[label] = LaunchExpectation(
                label, workflow.name, inputs, frozenset(), None, None, decided=False,
                relaunch_of=relaunch_of, reason=error.reason)
            return
        self.ledger.end_launch()
        self.finish(label, workflow.name, inputs, result, relaunch_of)

    def finish(self, label: str, workflow: str, inputs: Any, result: Result,
               relaunch_of: str | None) -> None:
        launch = self.ledger.launch
        states = {result.state} | ({"killed"} if launch.kill_floating else set())
        if states & {"excepted", "killed"}:
            self.interp.bad_before.add(label)
        outputs: FrozenMap[Any] | None = None
        if result.outputs is not None and not contains_unknown(result.outputs):
            outputs = FrozenMap(result.outputs)
        if relaunch_of is not None and any(
                c.hit for p, c in self.interp.cache.items() if p.startswith(label + "/")):
            self.interp.exercises.add("N4")
        reasons = ["may be killed by the armed kill request"] if launch.kill_floating else []
        if label in self.interp.child_failed:
            rule = self.interp.child_failure
            reasons.append(f"a child failed; by the declared rule {rule}, "
                           f"{CHILD_FAILURE_RULES[rule]}")
        reason = "; ".join(reasons)
        self.launches[label] = LaunchExpectation(
            label, workflow, inputs, frozenset(states),
            result.exit_status if result.state == "finished" else None,
            outputs if result.state == "finished" else None,
            relaunch_of=relaunch_of, worker_kills=launch.worker_kills, reason=reason)

    def run(self) -> None:
        ops = self.scenario.launches
        for index, op in enumerate(ops):
            if isinstance(op, Launch):
                self.launch(op.label, None)
            elif isinstance(op, Relaunch):
                self.launch(op.label, op.of)
            elif isinstance(op, SetCaching):
                self.interp.store.set_config(op)
            elif isinstance(op, Invalidate):
                self.interp.store.invalidate(f"{op.launch}/{op.calc_path}")
            elif op.at_effect is None:
                self.interp.exercises.add("N1")
            if isinstance(op, (Launch, Relaunch)) and op.label in self.interp.bad_before \
                    and index + 1 < len(ops):
                self.interp.exercises.add("N1")

    def expectation(self, capabilities: Capabilities) -> Expectation:
        undecided_labels = {label for label, e in self.launches.items() if not e.decided}

        def keep(key: str) -> bool:
            return key.partition("/")[0] not in undecided_labels

        effects = {
            key: EffectBound(lo, hi, "; ".join(self.ledger.reasons.get(key, ())))
            for key, (lo, hi) in self.ledger.bounds.items() if keep(key)
        }
        cache = {path: c for path, c in self.interp.cache.items() if keep(path)}
        notes = []
        for ext in self.ledger.externals:
            name = type(ext.fault).__name__
            if ext.state == "pending":
                notes.append(f"{name} at entry {ext.index} never fires: the journal is shorter")
            elif ext.state == "floating":
                notes.append(f"{name} at entry {ext.index} may not fire")
        ids = _id_relations(self.scenario) + [
            r for r in self.interp.ids if keep(r.a) and keep(r.b)]
        return Expectation(
            scenario=self.scenario.name,
            launches=FrozenMap(self.launches),
            effects=FrozenMap(effects),
            cache=FrozenMap(cache),
            ids=tuple(dict.fromkeys(ids)),
            exercises=frozenset(self.interp.exercises),
            not_applicable=_not_applicable(self.scenario, capabilities),
            undecided=tuple(self.undecided),
            notes=tuple(notes),
        )


def expect(scenario: Scenario, capabilities: Capabilities) -> Expectation:
    """What a correct engine with these capabilities must do with `scenario` (pure).

    The scenario must be valid (`scenario.validate()`); the result depends only on the
    arguments, so it can be computed once and cached by the harness.
    """
    run = _Run(scenario, capabilities)
    run.run()
    return run.expectation(capabilities)
