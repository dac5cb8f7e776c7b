"""The oracle's abstract interpreter: walks a scenario as a correct engine must run it.

Model assumptions (also in docs/scenarios.md):

- Launches run one after another; inside a workflow one step runs at a time; the calls
  of a `LaunchCalcs` step are created together (all cache lookups first) and may run
  concurrently; the parent waits for all of them.
- A workflow is checkpointed after every step; a calculation after its body.
- A kill at a crashpoint of attempt n: `after_claim` / `before_effect` -> the body runs on
  the next attempt; `after_effect_before_checkpoint` -> the body ran and runs again (its
  children may be launched twice: orphans); `after_checkpoint_before_ack` -> ran once;
  `while_waiting` -> the step ran once and its children are awaited, not relaunched.
  Children that may be running in the dying worker may execute once more, and so may
  the waiting parent step and its siblings, unless the engine declares
  `Capabilities.isolated_kills` (then a kill touches only the task it landed in, the
  killed attempt of a launching step created no children, and these bounds are exact).
- A `KillOnEffect(k)` lands while the body that wrote entry k waits between its entry
  and its checkpoint, before any raise (the nemesis's gate). Where the model knows that
  body (`entries_exact` and every earlier entry certain) the kill is certain: the body
  launched nothing, runs again as attempt n+1 and, if attempt n was to raise, the raise
  is pre-empted (attempt n+1 raises only if a fault names it too). Elsewhere it floats.
- When a fault only *may* land between a raising body's entry and the commit of its
  exception (an unplaceable kill, a broker/database fault racing the commit, the kill of
  a worker a sibling or the parent shares) and the retry would not raise, the launch is
  undecided; so is one whose possible extra execution is an attempt a `RaiseIn` names.
- Attempts count the order in which workers begin a target's bodies. Two or more calls
  of one type in one `LaunchCalcs` may begin in any order, so a body fault naming an
  attempt they consume may land on any of them (`scenarios.oracle._siblings`): their
  states and counts are widened to what any order allows, or the launch is undecided
  when one of them may also be a cache hit.
- An exception in a step makes its workflow excepted; in a calculation, the calculation
  excepted. A workflow whose child failed (excepted, killed or a non-zero exit status)
  finishes with `CHILD_FAILED_EXIT_STATUS` and no outputs, or ends excepted where the
  engine declares so (`Capabilities.child_failure`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from scenarios.calculations import evaluate_calculation
from scenarios.capabilities import Capabilities
from scenarios.effects import calc_key, loop_prefix, step_key
from scenarios.faults import KillAtCrashpoint, RaiseIn
from scenarios.language import (
    CHILD_FAILED_EXIT_STATUS,
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
from scenarios.oracle._cache import UNKNOWN, Lookup, Node, SourceStore, contains_unknown
from scenarios.oracle._ledger import External, LaunchState, Ledger, Recorder, Undecided
from scenarios.oracle._siblings import SiblingGroup, affected, sibling_groups, spread
from scenarios.oracle.expectation import CacheExpectation, IdRelation
from scenarios.scenario import Scenario
from scenarios.values import canonical

_REDO = "after_effect_before_checkpoint"
_CHILDREN_IN_FLIGHT = ("after_checkpoint_before_ack", "while_waiting", _REDO)
_AT_ENTRY = "journal_entry"
"""Crash marker of a placed `KillOnEffect`: the killed attempt launched no children."""


def _faults_named(externals: list[External]) -> str:
    return " or ".join(f"{type(e.fault).__name__} at entry {e.index}" for e in externals)


@dataclass
class Result:
    """Natural outcome of one workflow instance (ignoring kill requests)."""

    state: str
    exit_status: int | None
    outputs: dict[str, Any] | None


@dataclass
class Window:
    """Bodies of one `LaunchCalcs` that may run at once: their entries' order is timing.

    `start` counts the entries certainly written before the group began; a fault at a
    later entry may land while any raising body of the group is in flight.
    """

    start: int
    raises: list[tuple[str, RaiseIn]] = field(default_factory=list)


class Interpreter:
    """Mutable state of one `expect()` call; see the module docstring for the model."""

    def __init__(self, scenario: Scenario, capabilities: Capabilities, ledger: Ledger) -> None:
        self.scenario = scenario
        self.ledger = ledger
        self.store = SourceStore(capabilities)
        self.cache: dict[str, CacheExpectation] = {}
        self.ids: list[IdRelation] = []
        self.exercises: set[str] = set()
        self.orphan_depth = 0
        self.in_flight_depth = 0
        self.isolated = capabilities.isolated_kills
        self.child_failure = capabilities.child_failure
        self.child_failed: set[str] = set()  # prefixes of workflows a failed child ended
        self.window: Window | None = None
        self.raised: list[tuple[str, RaiseIn]] = []
        self.bad_before: set[str] = set()
        self.instances: set[tuple[str, str]] = set()

    @property
    def launch(self) -> LaunchState:
        return self.ledger.launch

    # -- faults that kill workers ------------------------------------------------------

    def crashed(self, where: str, process: str) -> None:
        """Record a certain worker kill `where` in `process` (which then continues).

        `where` is a crashpoint, or `journal entry k` for a `KillOnEffect` that the model
        can place (see `killed_at_entry`).
        """
        self.launch.worker_kills += 1
        self.exercises.update({"C1", "C3", "C4", "C5"})
        if self.launch.count_min > 0 or where == "after_checkpoint_before_ack":
            self.exercises.add("C2")
        if self.bad_before:
            self.exercises.add("N1")
        if not self.isolated:  # else the parent's checkpoint preceded its child's existence
            self.ledger.owners_may_redo(f"parent step may redo after a kill at {where}")
        relation = IdRelation(process, process, True, f"continues after a kill at {where} (C1)")
        if relation not in self.ids:
            self.ids.append(relation)

    def floating_landed(self) -> None:
        """An external fault may land in the current launch: exercised clauses, id kept."""
        for ext in self.ledger.on_floating:
            self.exercises.update({"C1", "C3", "C4", "C5"})
            if self.launch.count_min > 1:
                self.exercises.add("C2")
            if self.launch.children:
                self.exercises.add("C6")
            if self.bad_before:
                self.exercises.add("N1")
            label = ext.launch or self.launch.label
            relation = IdRelation(label, label, True,
                                  f"continues after {type(ext.fault).__name__} (C1)")
            if relation not in self.ids:
                self.ids.append(relation)
        self.ledger.on_floating.clear()

    def check_kill_request(self) -> None:
        launch = self.launch
        if launch.kill_at is not None and not launch.kill_floating \
                and launch.count_max >= launch.kill_at:
            launch.kill_floating = True
            self.exercises.add("P1")

    def float_kill_over(self, entries: int) -> None:
        """A kill request due at one of a sibling group's entries floats over the whole
        group: the siblings run in any order, so whichever writes the due entry, the kill
        may land before any other has begun, and each may not run (0 or 1 runs).

        Why: taken in the order they are written, the sibling at the due entry "ran
        exactly once" and only later ones might not. A real-tier campaign (seed
        2026120410, 2026-12-04) had the last sibling write it: the first, not yet begun,
        never ran, and C4 failed a correct engine.

        Loose by one entry on purpose: a kill due at the group's last first-run entry
        floats too, because a sibling re-run inside the group (a kill after its effect)
        can take an earlier slot and leave another sibling unbegun at the kill. Two such
        re-runs before the kill entry are not covered (no campaign has met one)."""
        launch = self.launch
        if launch.kill_at is not None and not launch.kill_floating \
                and launch.count_max + entries >= launch.kill_at:
            launch.kill_floating = True
            self.exercises.add("P1")

    def after_effect(self) -> None:
        self.floating_landed()
        self.check_kill_request()

    # -- bodies ------------------------------------------------------------------------

    def run_body(self, target: str, key: str, process: str) -> tuple[str, list[str]]:
        """Run a body until it completes or raises; return the outcome and crashpoints hit."""
        crashes: list[str] = []
        while True:
            fault = self.ledger.enter(target)
            if isinstance(fault, KillAtCrashpoint):
                self.crashed(fault.crashpoint, process)
                crashes.append(fault.crashpoint)
                if fault.crashpoint in ("after_claim", "before_effect"):
                    continue
                reason = ("re-executed after a kill at after_effect_before_checkpoint"
                          if fault.crashpoint == _REDO else f"kill at {fault.crashpoint}")
                self.ledger.effect(key, target, reason)
                self.after_effect()
                if fault.crashpoint == _REDO:
                    continue
                return "ok", crashes
            if self.killed_at_entry(target, key, process, raising=fault is not None):
                crashes.append(_AT_ENTRY)
                continue
            if fault is None:
                self.ledger.effect(key, target, "runs")
                self.after_effect()
                return "ok", crashes
            start = self.ledger.trace_min
            self.ledger.effect(key, target, "raises after writing its entry")
            self.after_effect()
            self.raised.append((key, fault))
            if self.window is not None:
                self.window.raises.append((key, fault))
            else:
                exposed = self.ledger.may_land_since(start + 1, pending=not self.entries_exact)
                if exposed:
                    self.may_pre_empt(key, fault, _faults_named(exposed))
            return "raise", crashes

    def spread_of(self, crashes: list[str]) -> tuple[int, int]:
        """What kills at a launching step leave behind: (orphan copies, kills that may
        have found its children in flight). Both 0 when kills are isolated (see
        `Capabilities.isolated_kills`): the killed attempt created no children, and the
        children of a committed step run in other workers.

        What stays loose even then, and why: a kill naming attempt n of a type that
        several sibling calls of one step run (which call begins first is timing, see
        `scenarios.oracle._siblings`); a fault at a journal entry the model cannot place
        (which body wrote it is timing); broker and database faults (they race every
        commit, and the time they land is not a crashpoint)."""
        if self.isolated:
            return 0, 0
        return crashes.count(_REDO), sum(cp in _CHILDREN_IN_FLIGHT for cp in crashes)

    @property
    def entries_exact(self) -> bool:
        """No body can write a journal entry while this one runs (no siblings, orphans or
        children of a killed worker in flight), so entry positions follow the model."""
        return self.window is None and self.orphan_depth == 0 and self.in_flight_depth == 0

    def killed_at_entry(self, target: str, key: str, process: str, raising: bool) -> bool:
        """Whether a `KillOnEffect` certainly lands at this body's own journal entry.

        The nemesis lands faults "at entry k" while the body that wrote entry k waits
        between its entry and its checkpoint, before any raise (the gate). So when the
        model knows which body writes entry k, the kill is certain and exact: the entry
        counts, the body launched nothing and never raises, its attempt is consumed and
        the caller runs it again as the next attempt. Elsewhere the kill floats.
        """
        landed = self.ledger.kills_at_next_entry() if self.entries_exact else []
        if not landed:
            return False
        self.ledger.land(landed)
        where = f"journal entry {landed[0].index}"
        self.crashed(where, process)
        if self.launch.children:
            self.exercises.add("C6")
        reason = "its raise is pre-empted" if raising else "it runs again"
        self.ledger.effect(key, target, f"killed at {where} before its checkpoint: {reason}")
        self.after_effect()
        return True

    def may_pre_empt(self, key: str, fault: RaiseIn, faults: str) -> None:
        """A fault may land between the raising body's entry and its raise (or its commit).

        Then the raise may not happen and the body runs again as the next attempt. When
        every attempt raises, the outcome is the same either way (the redo is already in
        the bounds); otherwise it depends on timing: the launch is undecided.
        """
        if fault.attempt is None:
            self.ledger.note(key, f"{faults} may pre-empt the raise; the retry raises too")
            return
        raise Undecided(f"whether {fault.target} raises on attempt {fault.attempt} or "
                        f"{faults} pre-empts the raise (and the retry runs on) depends on "
                        "engine timing")

    def resolve(self, ref: ValueRef, inputs: dict[str, Any], env: dict[str, Any]) -> Any:
        if isinstance(ref, Const):
            return ref.value
        if isinstance(ref, Input):
            return inputs[ref.name]
        return env[ref.step][ref.key]

    # -- calculations ------------------------------------------------------------------

    def lookup(self, calc: Calculation, inputs: dict[str, Any], path: str,
               orphans: bool) -> Lookup:
        look = self.store.lookup(calc, inputs, path, orphans or self.orphan_depth > 0)
        self.exercises.update(look.exercises)
        self.cache[path] = look.expectation
        for source in look.sources:
            if source.launch != self.launch.label:
                self.exercises.add("K5")
            if look.expectation.hit:
                self.ids.append(IdRelation(path, source.path, False,
                                           "a cache hit is a new node, not its source (K2)"))
        return look

    def hit_outputs(self, calc: Calculation, inputs: dict[str, Any], look: Lookup) -> Any:
        """A hit clones its source's outputs; if candidate sources disagree, they are unknown."""
        known = [n.outputs for n in look.sources]
        if not any(contains_unknown(o) for o in known) and len({canonical(o) for o in known}) == 1:
            return known[0]
        return {name: UNKNOWN for name in evaluate_calculation(calc, inputs)}

    def run_calc(self, calc: Calculation, inputs: dict[str, Any], path: str,
                 look: Lookup) -> tuple[str, dict[str, Any], list[str]]:
        target = f"calc:{calc.name}"
        hit = look.expectation.hit
        if hit:
            self.ledger.note(path, "a cache hit executes nothing (K1)")
            return "finished", self.hit_outputs(calc, inputs, look), []
        if look.exact is None:  # keys() found UNKNOWN in the inputs
            raise Undecided(f"inputs of {path} depend on which cache source was used")
        computed = evaluate_calculation(calc, inputs)
        if hit is None:
            lo, hi = self.ledger.att_lo[target] + 1, self.ledger.att_hi[target] + 1
            if self.ledger.decide(target, lo, hi) is not None:
                raise Undecided(f"{path} may be a hit or may run into a fault")
            self.ledger.maybe(path, target, "may be a cache hit or may execute",
                              externals=True)
            self.after_effect()
            same = all(n.exact == look.exact for n in look.sources)
            return "finished", computed if same else {k: UNKNOWN for k in computed}, []
        outcome, crashes = self.run_body(target, path, path)
        if outcome == "raise":
            return "excepted", {}, crashes
        return "finished", computed, crashes

    def awaited(self, crashes: list[str], paths: list[str]) -> None:
        """Children launched before a checkpoint that a kill found must keep their ids (C6)."""
        if _REDO in crashes or not any(
                cp in ("while_waiting", "after_checkpoint_before_ack") for cp in crashes):
            return
        self.exercises.add("C6")
        for path in paths:
            self.ids.append(IdRelation(path, path, True,
                                       "launched before the checkpoint: awaited, not "
                                       "launched again (C6)"))

    def redo_children(self, recorder: Recorder, paths: list[str]) -> None:
        """Widen the children of a launching step that may have been re-run (orphans)."""
        if not recorder.redo:
            return
        for _ in range(recorder.redo):
            for key, target in dict.fromkeys(recorder.entries):
                self.ledger.maybe(key, target, "its launching step may have been re-run")
        for path in paths:
            found = self.cache.get(path)
            if found is not None and found.hit is False and found.caching_enabled:
                self.cache[path] = replace(
                    found, hit=None,
                    reason="its launching step may be re-run; the copy may hit an orphan")

    def equal_siblings(self, calls: list[Any]) -> None:
        """A child with an equal sibling may hit it: an engine may look a child up when it
        runs (the reference engine does) rather than when it is created, and the sibling
        may have finished by then. Both outcomes are correct, so the model says "either"."""
        for _, calc, _values, path, look in calls:
            found = look.expectation
            key = look.key
            if found.hit is not False or not found.caching_enabled or key is None:
                continue
            equal = [other for _, c, _, other, other_look in calls if other != path
                     and c == calc and other_look.key == key]
            if equal:
                look.expectation = self.cache[path] = replace(
                    found, hit=None, sources=(*found.sources, *equal),
                    reason="an equal sibling may finish before this node is looked up")

    def launch_calcs(self, wf: Workflow, step: LaunchCalcs, inputs: dict[str, Any],
                     env: dict[str, Any], prefix: str) -> str:
        outcome, crashes = self.run_body(f"{wf.name}.{step.name}", step_key(prefix, step.name),
                                         prefix)
        if outcome == "raise":
            return "excepted"
        self.launch.children = True
        self.exercises.add("P1")
        orphans, in_flight = self.spread_of(crashes)
        self.awaited(crashes, [calc_key(prefix, step.name, i, call.calc)
                               for i, call in enumerate(step.calls)])
        calls = []
        for index, call in enumerate(step.calls):
            calc = self.scenario.calculation(call.calc)
            values = {name: self.resolve(ref, inputs, env) for name, ref in call.inputs.items()}
            path = calc_key(prefix, step.name, index, call.calc)
            calls.append((index, calc, values, path, self.lookup(calc, values, path, orphans > 0)))
        self.equal_siblings(calls)
        recorder = Recorder((step_key(prefix, step.name), f"{wf.name}.{step.name}"))
        self.ledger.recorders.append(recorder)
        runnable = sum(look.expectation.hit is not True for *_, look in calls)
        concurrent = runnable > 1 or orphans or in_flight
        if runnable > 1:
            self.float_kill_over(runnable)
        self.window = Window(self.ledger.trace_min) if concurrent else None
        groups = sibling_groups(calls, self.ledger)
        try:
            results = [self.run_calc(calc, values, path, look)
                       for _, calc, values, path, look in calls]
        finally:
            window, self.window = self.window, None
        self.ledger.recorders.pop()
        groups = [group for group in groups if affected(group, self.ledger)]
        self.redo_children(recorder, [path for _, _, _, path, _ in calls])
        outputs = self.settle_children(calls, results, in_flight, groups)
        if window is not None and window.raises:
            exposed = self.ledger.may_land_since(window.start + 1)
            for key, fault in window.raises if exposed else ():
                self.may_pre_empt(key, fault, _faults_named(exposed))
        if outputs is None:
            return "child_failed"
        env[step.name] = outputs
        return "ok"

    def settle_children(self, calls: list[Any], results: list[Any], in_flight: int,
                        groups: list[SiblingGroup]) -> dict[str, Any] | None:
        """Register the finished children as nodes; their outputs, or None if one failed.

        A child that was not a certain hit may run once more for every kill that found it
        in flight: kills at the launching step (`in_flight`) and kills of its siblings;
        such a kill may also pre-empt the child's raise. In a sibling group whose attempts
        a fault names (`scenarios.oracle._siblings`), a call's own kills may be a
        sibling's, and a raise may be any call's: its node is only a possible source.
        """
        sibling_kills = 0 if self.isolated else sum(len(crashes) for _, _, crashes in results)
        raised = dict(self.raised)
        states = {path: state for (*_, path, _), (state, _, _) in zip(calls, results,
                                                                       strict=True)}
        grouped = {path for group in groups for path in group.paths}
        unsure = {path for group in groups  # some calls raised, not all: which is timing
                  if len({states[p] == "excepted" for p in group.paths}) == 2
                  for path in group.paths}
        outputs: dict[str, Any] = {}
        failed = False
        for (index, calc, values, path, look), (state, outs, own) in zip(calls, results,
                                                                         strict=True):
            kills = in_flight + sibling_kills - (0 if path in grouped else len(own))
            if look.expectation.hit is not True:
                for _ in range(kills):
                    self.ledger.maybe(path, f"calc:{calc.name}",
                                      "may be in flight in a killed worker")
                if state == "excepted" and kills:
                    self.may_pre_empt(path, raised[path], "a kill of a worker it may share")
            failed = failed or state != "finished" or calc.exit_status != 0
            outputs.update({f"{index}.{name}": value for name, value in outs.items()})
            if path in unsure:  # excepted or finished: which call raised is timing
                state, outs = "finished", evaluate_calculation(calc, values)
            self.store.nodes.append(Node(path, self.launch.label, calc, look.key, look.exact,
                                         outs, state,
                                         certain=not self.launch.kill_floating
                                         and path not in unsure,
                                         caching_enabled=look.expectation.caching_enabled))
        crashes = {path: own for (*_, path, _), (_, _, own) in zip(calls, results, strict=True)}
        for group in groups:
            spread(group, self.ledger, crashes, widened=not self.isolated)
        return None if failed else outputs

    # -- workflows ---------------------------------------------------------------------

    def launch_workflow(self, wf: Workflow, step: LaunchWorkflow, inputs: dict[str, Any],
                        env: dict[str, Any], prefix: str) -> str:
        key = step_key(prefix, step.name)
        outcome, crashes = self.run_body(f"{wf.name}.{step.name}", key, prefix)
        if outcome == "raise":
            return "excepted"
        self.launch.children = True
        self.exercises.add("P1")
        self.awaited(crashes, [key])
        child = self.scenario.workflow(step.workflow)
        values = {name: self.resolve(ref, inputs, env) for name, ref in step.inputs.items()}
        orphans, in_flight = self.spread_of(crashes)
        self.orphan_depth += orphans
        self.in_flight_depth += in_flight
        recorder = Recorder((key, f"{wf.name}.{step.name}"))
        self.ledger.recorders.append(recorder)
        first_raise = len(self.raised)
        result = self.run_workflow(child, values, key)
        self.ledger.recorders.pop()
        recorded = dict.fromkeys(recorder.entries)
        self.redo_children(recorder, [k for k in self.cache if k.startswith(key + "/")])
        self.orphan_depth -= orphans
        self.in_flight_depth -= in_flight
        for _ in range(in_flight):
            for other_key, other_target in recorded:
                self.ledger.maybe(other_key, other_target, "sub-workflow in flight at a kill")
        for raised_key, fault in self.raised[first_raise:] if in_flight else ():
            self.may_pre_empt(raised_key, fault, "a kill of a worker it may share")
        if result.state != "finished" or result.exit_status != 0:
            return "child_failed"
        env[step.name] = dict(result.outputs or {})
        return "ok"

    def block(self, wf: Workflow, steps: tuple[Step, ...], inputs: dict[str, Any],
              env: dict[str, Any], prefix: str) -> str:
        for step in steps:
            if isinstance(step, Compute):
                outcome, _ = self.run_body(f"{wf.name}.{step.name}",
                                           step_key(prefix, step.name), prefix)
                if outcome == "raise":
                    return "excepted"
                env[step.name] = {"value": self.resolve(step.value, inputs, env)}
                status = "ok"
            elif isinstance(step, LaunchCalcs):
                status = self.launch_calcs(wf, step, inputs, env, prefix)
            elif isinstance(step, LaunchWorkflow):
                status = self.launch_workflow(wf, step, inputs, env, prefix)
            elif isinstance(step, If):
                condition = self.resolve(step.condition, inputs, env)
                if contains_unknown(condition):
                    raise Undecided(f"condition of {wf.name}.{step.name} is not predictable")
                branch = step.then if condition else step.otherwise
                status = self.block(wf, branch, inputs, env, prefix)
                env[step.name] = {"branch": "then" if condition else "otherwise"}
            else:
                status = self.loop(wf, step, inputs, env, prefix)
            if status != "ok":
                return status
        return "ok"

    def loop(self, wf: Workflow, step: While, inputs: dict[str, Any], env: dict[str, Any],
             prefix: str) -> str:
        condition = self.resolve(step.condition, inputs, env)
        if contains_unknown(condition):
            raise Undecided(f"condition of {wf.name}.{step.name} is not predictable")
        count = step.iterations(condition)
        for iteration in range(count):
            env[step.name] = {"iteration": iteration}
            status = self.block(wf, step.body, inputs, env,
                                loop_prefix(prefix, step.name, iteration))
            if status != "ok":
                return status
        env[step.name] = {"iterations": count}
        return "ok"

    def run_workflow(self, wf: Workflow, inputs: dict[str, Any], prefix: str) -> Result:
        instance = (wf.name, canonical({k: v for k, v in inputs.items()
                                        if not contains_unknown(v)}))
        if instance in self.instances and self.store.config is not None:
            self.exercises.add("K6")
        self.instances.add(instance)
        env: dict[str, Any] = {}
        status = self.block(wf, wf.steps, inputs, env, prefix)
        if status == "excepted":
            return Result("excepted", None, None)
        if status == "child_failed":  # by the declared rule (Capabilities.child_failure)
            self.child_failed.add(prefix)
            if self.child_failure == "parent_excepted":
                return Result("excepted", None, None)
            return Result("finished", CHILD_FAILED_EXIT_STATUS, {})
        outputs = {name: self.resolve(ref, inputs, env) for name, ref in wf.outputs.items()}
        return Result("finished", 0, outputs)
