"""Scenario generation without Hypothesis: `generate(seed, **knobs)`, fast and deterministic.

One builder serves both generators: it asks a `Chooser` for every decision. `generate`
answers with a `random.Random(seed)` (same seed, same scenario, thousands per second);
`scenarios.strategies` answers with Hypothesis draws, so Hypothesis can shrink. Every
choice lists its simplest option first (a `Compute` step, one call, attempt 1, no fault),
which is where Hypothesis shrinks to.

Biases, by design: faults land next to checkpoints (`after_effect_before_checkpoint`,
`after_checkpoint_before_ack`, `while_waiting`), an exception is usually followed by a
relaunch, the same inputs are often launched twice, and inputs favour values that are
hard to hash (`scenarios._values_pool`). Calculations come in *series* (`call_inputs`):
the first call of a type in a workflow usually takes a constant from the pool, and later
steps usually call that type again with 1-4 near pairs of it (`scenarios._near_pairs`),
one step later so that each lookup is decided; caching is on in 9 scenarios of 10. That
is what lets `fuzz` find a hash that conflates one kind of pair within tens of scenarios
(tests/harness/test_value_variants_fuzz.py). In half the scenarios with a series, one
step of it also calls *another* cacheable type on the series' first inputs (a
*cross-type member*, `_Builder.cross_type`): only the type differs, so it must miss (K8),
which finds a hash that omits the type (`hash_omits_type`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from scenarios._near_pairs import near
from scenarios._values_pool import RICH_VALUES, SIMPLE_VALUES, TRICKY_VALUES, TYPED_VALUES
from scenarios.calculations import CALCULATION_FUNCTIONS, calculation_output_names
from scenarios.capabilities import Capabilities
from scenarios.errors import InvalidScenarioError
from scenarios.faults import (
    CRASHPOINTS,
    FAULT_KINDS,
    OUTAGE_KINDS,
    SERVICE_NAMES,
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
)
from scenarios.plan import Invalidate, KillProcess, Launch, LaunchOp, Relaunch, SetCaching
from scenarios.scenario import Scenario

__all__ = ["Chooser", "Knobs", "build_scenario", "generate"]

T = TypeVar("T")


class Chooser(Protocol):
    """Source of decisions. Simplest answers: `lo`, False, `options[0]`."""

    def integer(self, lo: int, hi: int) -> int: ...

    def boolean(self, p_true: float) -> bool: ...

    def choice(self, options: Sequence[T]) -> T: ...

    def value(self) -> Any: ...


class RandomChooser:
    """`Chooser` over `random.Random`: deterministic for a seed, no Hypothesis engine."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return lo + int(self.rng.random() * (hi - lo + 1))

    def boolean(self, p_true: float) -> bool:
        return self.rng.random() < p_true

    def choice(self, options: Sequence[T]) -> T:
        return options[int(self.rng.random() * len(options))]

    def value(self) -> Any:
        draw = self.rng.random()
        pool = (SIMPLE_VALUES if draw < 0.45 else TRICKY_VALUES if draw < 0.65
                else TYPED_VALUES if draw < 0.85 else RICH_VALUES)
        item = pool[int(self.rng.random() * len(pool))]
        return fresh(item)


def fresh(value: Any) -> Any:
    """A copy of a value's mutable containers (immutable parts shared): what
    `copy.deepcopy` gives for values, at a third of its cost on deep ones."""
    kind = type(value)
    if kind is list:
        return [fresh(item) for item in value]
    if kind is dict:
        return {key: fresh(item) for key, item in value.items()}
    if kind is set:
        return set(value)  # members are hashable, hence immutable
    return value


@dataclass(frozen=True)
class Knobs:
    """Size and content limits for generated scenarios (validated by `generate`)."""

    max_steps: int = 8
    max_workflows: int = 2
    max_calculations: int = 3
    max_faults: int = 2
    max_launches: int = 3
    fault_kinds: frozenset[str] = frozenset(FAULT_KINDS) - frozenset(OUTAGE_KINDS)
    crashpoints: frozenset[str] = frozenset(CRASHPOINTS)
    capabilities: Capabilities | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        limits = {"max_steps": (1, 20), "max_workflows": (1, 3), "max_calculations": (1, 4),
                  "max_faults": (0, 4), "max_launches": (1, 6)}
        for name, (lo, hi) in limits.items():
            value = getattr(self, name)
            if type(value) is not int or not lo <= value <= hi:
                raise InvalidScenarioError(
                    name, value, f"an int between {lo} and {hi}", f"pass {name}={lo}..{hi}")
        object.__setattr__(self, "fault_kinds", frozenset(self.fault_kinds))
        for kind in self.fault_kinds:
            if kind not in FAULT_KINDS:
                raise InvalidScenarioError("fault_kinds", kind, f"names from {FAULT_KINDS}",
                                           "drop the unknown kind")
        points = frozenset(self.crashpoints)
        if self.capabilities is not None:
            points &= self.capabilities.crashpoints
        object.__setattr__(self, "crashpoints", points)


_STEP_MENU = ("compute", "launch_calcs", "compute", "launch_calcs", "launch_calcs",
              "if", "while", "launch_workflow", "compute", "launch_calcs", "launch_workflow")
_FAULT_MENU = ("raise_in", "kill_at_crashpoint", "raise_in", "kill_at_crashpoint",
               "kill_at_crashpoint", "kill_on_effect", "restart_broker", "restart_database",
               "drop_connection", "kill_on_effect", "expire_lease", "duplicate_delivery")
_OUTAGE_SECONDS = (0.5, 1.0, 2.0, 3.0)
_CRASH_MENU = ("after_effect_before_checkpoint", "after_checkpoint_before_ack",
               "while_waiting", "after_effect_before_checkpoint", "before_effect",
               "after_claim", "after_checkpoint_before_ack")
_INPUT_NAMES = ("x", "y", "z")
_CROSS_TYPE = 0.5
"""How often a scenario with a series gets a cross-type member (`_Builder.cross_type`)."""
_PREFIX = {"compute": "step", "launch_calcs": "calc", "launch_workflow": "sub", "if": "check",
           "while": "loop"}


class _Builder:
    def __init__(self, chooser: Chooser, knobs: Knobs) -> None:
        self.c = chooser
        self.k = knobs
        self.budget = knobs.max_steps
        self.calcs: list[Calculation] = []
        self.workflows: list[Workflow] = []
        self.series: dict[tuple[str, str], tuple[dict[str, ValueRef], str, Any]] = {}
        self.continued: list[tuple[str, str, str]] = []  # (workflow, step, type) of series
        self.grow = False  # may `twin` add a calculation type? (only when `program` drew them)

    # -- calculations and workflows ----------------------------------------------------

    def calculation(self, index: int) -> Calculation:
        function = self.c.choice(CALCULATION_FUNCTIONS)
        taken = {c.name for c in self.calcs}
        name = function if function not in taken else f"{function}{index}"
        exit_status = self.c.choice((410, 1, 320)) if self.c.boolean(0.12) else 0
        return Calculation(name, function, cacheable=not self.c.boolean(0.08),
                           exit_status=exit_status,
                           invalidates_cache=bool(exit_status) and self.c.boolean(0.5),
                           version=2 if self.c.boolean(0.04) else 1)

    def cross_type(self) -> None:
        """Maybe give one step that continues a series one more call: another cacheable
        type (`twin`) on the series' first inputs, so that only the type differs from a
        source that finished a step earlier: the lookup must miss (K8).

        Drawn after the workflows, faults and plan (`build_scenario`), so a seed keeps
        the scenario it gave before and gains only the call (and may draw another
        `FailCommit`, which comes last so that restricting fault kinds changes no other
        draw): the near pairs every other hash bug is found by stay where they were. The
        call comes last in its step, so the paths of the step's other calls (faults,
        invalidations) do not move. A made type comes after the plan, so a per-type
        caching configuration does not name it: it follows the default.
        """
        if not self.continued or not self.c.boolean(_CROSS_TYPE):
            return
        wf, step, calc = self.c.choice(self.continued)
        other = self.twin(calc)
        if other is None:
            return
        call = CalcCall(other, dict(self.series[(wf, calc)][0]))
        self.workflows = [replace(w, steps=_with_call(w.steps, step, call)) if w.name == wf
                          else w for w in self.workflows]

    def twin(self, calc: str) -> str | None:
        """Another cacheable type of `calc`'s version, for a cross-type member of its
        series (equal inputs, so only the type differs: K8). Drawn from the scenario's
        types; when none fits, one is made (same function, a name of its own) if the
        builder owns the calculations (`grow`) and `max_calculations` leaves room.

        Same version because a hash that omits the type still holds the version: a
        type of another version would miss even there and tell nothing."""
        version = next(c.version for c in self.calcs if c.name == calc)
        fits = [c.name for c in self.calcs
                if c.name != calc and c.cacheable and c.version == version]
        if fits:
            return self.c.choice(fits)
        if not self.grow or len(self.calcs) >= self.k.max_calculations:
            return None
        function = next(c.function for c in self.calcs if c.name == calc)
        made = Calculation(f"{function}{len(self.calcs) + 1}", function, version=version)
        self.calcs.append(made)
        return made.name

    def ref(self, scope: list[StepOutput], inputs: tuple[str, ...]) -> ValueRef:
        kind = self.c.integer(0, 2)
        if kind == 1 and scope:
            return self.c.choice(scope)
        if kind == 2 or not inputs:
            return Const(self.value())
        return Input(self.c.choice(inputs))

    def step(self, wf: str, kind: str, name: str, scope: list[StepOutput],
             inputs: tuple[str, ...], callees: list[Workflow], depth: int) -> Step:
        if kind == "launch_calcs":
            open_series = [calc for (where, calc) in self.series if where == wf]
            if open_series and self.c.boolean(0.75):
                # continue a series: 1-4 calls, each a near pair with the series' first
                # call, which finished in an earlier step: each lookup is decided (K4/K5)
                calc_name = self.c.choice(open_series)
                names = tuple(self.series[(wf, calc_name)][0])
                self.continued.append((wf, name, calc_name))
                return LaunchCalcs(name, tuple(
                    CalcCall(calc_name, self.call_inputs(wf, calc_name, names, scope, inputs))
                    for _ in range(self.c.integer(1, 4))))
            calls = []
            for _ in range(self.c.integer(1, 3) if self.c.boolean(0.3) else 1):
                calc = self.c.choice(self.calcs)
                names = _INPUT_NAMES[: self.c.integer(1, 3)]
                calls.append(CalcCall(calc.name, self.call_inputs(wf, calc.name, names, scope,
                                                                  inputs)))
            return LaunchCalcs(name, tuple(calls))
        if kind == "launch_workflow":
            callee = self.c.choice(callees)
            return LaunchWorkflow(name, callee.name,
                                  {n: self.ref(scope, inputs) for n in callee.inputs})
        if kind in ("if", "while"):
            condition = self.ref(scope, inputs)
            body = self.block(wf, scope, inputs, callees, depth + 1, self.c.integer(1, 2))
            if kind == "while":
                return While(name, condition, body, self.c.integer(1, 3))
            otherwise: tuple[Step, ...] = ()
            if self.c.boolean(0.4) and self.budget > 0:
                otherwise = self.block(wf, scope, inputs, callees, depth + 1, 1)
            return If(name, condition, body, otherwise)
        return Compute(name, self.ref(scope, inputs))

    def block(self, wf: str, outer: list[StepOutput], inputs: tuple[str, ...],
              callees: list[Workflow], depth: int, size: int) -> tuple[Step, ...]:
        scope = list(outer)
        steps: list[Step] = []
        for _ in range(size):
            if self.budget <= 0:
                break
            self.budget -= 1
            kind = self.c.choice(_STEP_MENU)
            if kind == "compute" and any(w == wf for w, _ in self.series) \
                    and self.c.boolean(0.5):
                kind = "launch_calcs"  # more near pairs where a series is open
            if (kind == "launch_workflow" and not callees) or (
                    kind in ("if", "while") and (depth >= 2 or self.budget <= 0)):
                kind = "compute"
            self.counter += 1
            step = self.step(wf, kind, f"{_PREFIX[kind]}{self.counter}", scope, inputs,
                             callees, depth)
            steps.append(step)
            scope.extend(self.outputs_of(step))
        return tuple(steps)

    def outputs_of(self, step: Step) -> list[StepOutput]:
        """The references later steps may read after `step` (all are StepOutputs)."""
        if isinstance(step, Compute):
            return [StepOutput(step.name, "value")]
        if isinstance(step, LaunchCalcs):
            function = {c.name: c.function for c in self.calcs}
            return [StepOutput(step.name, f"{i}.{out}") for i, call in enumerate(step.calls)
                    for out in calculation_output_names(function[call.calc], call.inputs)]
        if isinstance(step, LaunchWorkflow):
            callee = next(w for w in self.workflows if w.name == step.workflow)
            return [StepOutput(step.name, out) for out in callee.outputs]
        if isinstance(step, While):
            return [StepOutput(step.name, "iterations")]
        return [StepOutput(step.name, "branch")]

    def workflow(self, name: str, callees: list[Workflow], share: int) -> Workflow:
        inputs = _INPUT_NAMES[: self.c.integer(1, 3)]
        self.counter = 0
        steps = self.block(name, [], inputs, callees, 0, max(1, share))
        scope = [r for step in steps for r in self.outputs_of(step)]
        outputs = {f"out{i}": self.ref(scope, inputs) for i in range(self.c.integer(0, 2))}
        return Workflow(name, inputs, steps, outputs)

    def program(self) -> None:
        for index in range(self.c.integer(1, self.k.max_calculations)):
            self.calcs.append(self.calculation(index + 1))
        self.grow = True
        count = self.c.integer(1, min(self.k.max_workflows, self.k.max_steps))
        # Sub-workflows first (deepest first, so calls only go "down": no recursion), each
        # small; the launched workflow Main gets the rest of the step budget.
        for index in range(count - 1, 0, -1):
            room = max(1, min(3, (self.budget - index) // 2))
            share = self.c.integer(1, room)
            self.budget -= 1  # keep one step for Main, whatever nested blocks take
            self.workflows.insert(0, self.workflow(f"Sub{index}", list(self.workflows), share))
            self.budget += 1
        share = self.c.integer(1, max(1, self.budget))
        self.workflows.insert(0, self.workflow("Main", list(self.workflows), share))

    # -- faults and plan ---------------------------------------------------------------

    def targets(self) -> tuple[list[str], list[str]]:
        bodies, launching = [], []
        for wf in self.workflows:
            stack = list(wf.steps)
            while stack:
                step = stack.pop(0)
                if isinstance(step, (Compute, LaunchCalcs, LaunchWorkflow)):
                    bodies.append(f"{wf.name}.{step.name}")
                if isinstance(step, (LaunchCalcs, LaunchWorkflow)):
                    launching.append(f"{wf.name}.{step.name}")
                stack.extend(getattr(step, "then", ()) + getattr(step, "otherwise", ())
                             + getattr(step, "body", ()))
        return bodies, launching

    def faults(self) -> tuple[Fault, ...]:
        kinds = [k for k in _FAULT_MENU + OUTAGE_KINDS if k in self.k.fault_kinds]
        if not self.k.crashpoints:
            kinds = [k for k in kinds if k != "kill_at_crashpoint"]
        if not kinds or self.k.max_faults == 0:
            return ()
        bodies, launching = self.targets()
        calc_targets = [f"calc:{c.name}" for c in self.calcs]
        faults: list[Fault] = []
        claimed: set[str] = set()
        for _ in range(self.c.integer(0, self.k.max_faults)):
            kind = self.c.choice(kinds)
            horizon = 2 + 3 * self.k.max_steps
            if kind in ("raise_in", "kill_at_crashpoint"):
                menu = [p for p in _CRASH_MENU if p in self.k.crashpoints]
                point = self.c.choice(menu) if kind == "kill_at_crashpoint" else ""
                pool = launching if point == "while_waiting" else bodies + calc_targets
                if not pool:
                    continue
                target = self.c.choice(pool)
                if target in claimed:
                    continue
                claimed.add(target)
                attempt = self.c.integer(1, 3) if self.c.boolean(0.3) else 1
                if kind == "kill_at_crashpoint":
                    faults.append(KillAtCrashpoint(point, target, attempt))
                else:
                    faults.append(RaiseIn(target, None if self.c.boolean(0.15) else attempt))
            elif kind == "kill_on_effect":
                faults.append(KillOnEffect(self.c.integer(1, horizon)))
            elif kind == "restart_broker":
                faults.append(RestartBroker(self.c.integer(1, horizon), self.c.boolean(0.5)))
            elif kind == "restart_database":
                faults.append(RestartDatabase(self.c.integer(1, horizon)))
            elif kind == "expire_lease":
                faults.append(ExpireLease(self.c.integer(1, horizon)))
            elif kind == "duplicate_delivery":
                faults.append(DuplicateDelivery(self.c.integer(1, horizon)))
            elif kind in OUTAGE_KINDS:
                outage = PauseService if kind == "pause_service" else PartitionService
                faults.append(outage(self.c.integer(1, horizon), self.c.choice(SERVICE_NAMES),
                                     self.c.choice(_OUTAGE_SECONDS)))
            else:
                faults.append(DropConnection(self.c.integer(1, horizon)))
        return tuple(faults)

    def commit_fault(self, faults: tuple[Fault, ...]) -> tuple[Fault, ...]:
        """Maybe add one `FailCommit` on a body no other body fault names.

        Drawn after everything else (`build_scenario`), so that the kind's arrival
        changed no earlier draw. (The redelivery faults joined `_FAULT_MENU` itself, so
        seeds with faults give other scenarios than before them, 2026-12.)
        """
        if "fail_commit" not in self.k.fault_kinds or self.k.max_faults == 0 \
                or not self.c.boolean(0.15):
            return faults
        bodies, _ = self.targets()
        named = {getattr(f, "target", None) for f in faults}
        pool = [t for t in bodies + [f"calc:{c.name}" for c in self.calcs] if t not in named]
        if not pool:
            return faults
        attempt = self.c.integer(1, 2) if self.c.boolean(0.3) else 1
        return (*faults, FailCommit(self.c.choice(pool), attempt))

    def plan(self, faults: tuple[Fault, ...]) -> tuple[LaunchOp, ...]:
        main = self.workflows[0]
        ops: list[LaunchOp] = []
        if self.c.boolean(0.9):  # caching is where near pairs (K4, K5) tell something
            ops.append(self.caching())
        labels: list[str] = []
        inputs: dict[str, dict[str, Any]] = {}
        raises = any(isinstance(f, RaiseIn) for f in faults)
        for index in range(self.c.integer(1, self.k.max_launches)):
            label = "ABCDEF"[index]
            if not labels:
                move = "launch"
            elif raises and self.c.boolean(0.6):
                move = "relaunch"  # the user's story: an exception, then a restart builder
            else:
                move = self.c.choice(("same", "same", "relaunch", "changed", "caching",
                                      "invalidate", "kill", "armed_kill", "changed", "changed"))
            if move == "relaunch":
                origin = self.c.choice(labels)
                ops.append(Relaunch(label, origin))
                inputs[label] = inputs[origin]
                labels.append(label)
                continue
            if move == "caching":
                ops.append(self.caching())
            elif move == "invalidate":  # drawn all the same; kept where there is a cache
                self.invalidate(ops if self.caches else [], labels, main)
            elif move == "kill":
                ops.append(KillProcess(self.c.choice(labels)))
            elif move == "armed_kill":
                ops.append(KillProcess(label, self.c.integer(1, 6)))
            values = {n: self.value() for n in main.inputs}
            if move != "launch" and labels and move != "changed":
                values = fresh(inputs[self.c.choice(labels)])
            elif move == "changed":
                values = fresh(inputs[self.c.choice(labels)])
                name = self.c.choice(main.inputs)
                values[name] = self.accepted(near(values[name], self.c))
            ops.append(Launch(label, main.name, values))
            inputs[label] = values
            labels.append(label)
        return tuple(ops)

    def call_inputs(self, wf: str, calc: str, names: tuple[str, ...],
                    scope: list[StepOutput], inputs: tuple[str, ...]) -> dict[str, ValueRef]:
        """A call's inputs; usually one member of a *series*: calls of one type in one
        workflow whose inputs are the first call's with one constant changed minimally
        (`near`): a lookup that must miss, or hit for the reorders (K4, K5). The first call
        of a series takes that constant from the values holding every kind of the model
        (`RICH_VALUES`) or from one kind each (`TYPED_VALUES`), so each later call is a
        near pair of one kind with it (`near` draws the kind first)."""
        series = self.series.get((wf, calc))
        if series is not None and self.c.boolean(0.9):
            first, name, base = series
            refs = dict(first)
            refs[name] = Const(self.accepted(fresh(near(base, self.c, pooled=True))))
            return refs
        refs = {n: self.ref(scope, inputs) for n in names}
        rich, typed = _bases(self.k.capabilities)
        cacheable = next((c.cacheable for c in self.calcs if c.name == calc), True)
        if series is None and cacheable and self.c.boolean(0.75):
            # (a series of a type that is never cached tells nothing about its hash)
            name = self.c.choice(names)
            base = self.c.choice(rich if rich and self.c.boolean(0.8) else typed)
            refs[name] = Const(fresh(base))
            if all(isinstance(r, (Const, Input)) for r in refs.values()):
                self.series[(wf, calc)] = (refs, name, base)  # valid anywhere in this workflow
        return refs

    def value(self) -> Any:
        """A drawn value the engine takes (`Capabilities.value_kinds`), else a simple one."""
        return self.accepted(self.c.value())

    def accepted(self, value: Any) -> Any:
        caps = self.k.capabilities
        if caps is None or not caps.refused_kinds(value):
            return value
        return self.c.choice(SIMPLE_VALUES)

    @property
    def caches(self) -> bool:
        """Whether the engine has a cache to configure and invalidate (unknown: yes)."""
        return self.k.capabilities is None or self.k.capabilities.caches

    def caching(self) -> SetCaching:
        chosen = self._caching()
        # drawn all the same, so each seed keeps the rest of its scenario
        return chosen if self.caches else SetCaching(False)

    def _caching(self) -> SetCaching:
        if len(self.calcs) < 2 or not self.c.boolean(0.3):
            return SetCaching(not self.c.boolean(0.15))
        one, two = self.calcs[0].name, self.calcs[1].name
        if self.c.boolean(0.5):
            return SetCaching(False, enabled=(one,))
        return SetCaching(True, disabled=(two,))

    def invalidate(self, ops: list[LaunchOp], labels: list[str], main: Workflow) -> None:
        from scenarios.effects import effect_keys

        label = self.c.choice(labels)
        probe = Scenario("probe", tuple(self.workflows), tuple(self.calcs),
                         (Launch(label, main.name, {n: 0 for n in main.inputs}),))
        paths = [k.partition("/")[2] for k in effect_keys(probe, label) if ":" in k]
        if paths:
            ops.append(Invalidate(label, self.c.choice(paths)))


def _with_call(steps: tuple[Step, ...], name: str, call: CalcCall) -> tuple[Step, ...]:
    """`steps` with `call` appended to the `LaunchCalcs` step called `name`, at any depth."""
    out: list[Step] = []
    for step in steps:
        if isinstance(step, LaunchCalcs) and step.name == name:
            step = replace(step, calls=(*step.calls, call))
        elif isinstance(step, If):
            step = replace(step, then=_with_call(step.then, name, call),
                           otherwise=_with_call(step.otherwise, name, call))
        elif isinstance(step, While):
            step = replace(step, body=_with_call(step.body, name, call))
        out.append(step)
    return tuple(out)


_BASES: dict[frozenset[str] | None, tuple[tuple[Any, ...], tuple[Any, ...]]] = {}


def _bases(caps: Capabilities | None) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The first values of series the engine takes: (`RICH_VALUES`, `TYPED_VALUES` and
    `SIMPLE_VALUES`), each filtered by `Capabilities.value_kinds` once per process."""
    kinds = None if caps is None else caps.value_kinds
    found = _BASES.get(kinds)
    if found is None:
        def ok(value: Any) -> bool:
            return caps is None or not caps.refused_kinds(value)
        found = _BASES[kinds] = (tuple(v for v in RICH_VALUES if ok(v)),
                                 tuple(v for v in TYPED_VALUES + SIMPLE_VALUES if ok(v)))
    return found


def build_scenario(chooser: Chooser, knobs: Knobs, name: str = "generated",
                   seed: int | None = None) -> Scenario:
    """Build one valid scenario from the chooser's decisions (shared by both generators)."""
    builder = _Builder(chooser, knobs)
    builder.program()
    faults = builder.faults()
    plan = builder.plan(faults)
    builder.cross_type()
    faults = builder.commit_fault(faults)
    scenario = Scenario(name, tuple(builder.workflows), tuple(builder.calcs), plan, faults,
                        seed=seed)
    return scenario.validate()


def generate(seed: int, **knobs: Any) -> Scenario:
    """The scenario for `seed` (same seed and knobs, same scenario), without Hypothesis.

    Knobs are the fields of `Knobs`: `max_steps` (1..20, total over all workflows),
    `max_workflows`, `max_calculations`, `max_faults`, `max_launches`, `fault_kinds`,
    `crashpoints`, and `capabilities` (restricts crashpoints to what the engine arms).
    """
    if type(seed) is not int:
        raise InvalidScenarioError("seed", seed, "an int", "pass an integer seed")
    name = f"generated_{seed}" if seed >= 0 else f"generated_neg{-seed}"
    return build_scenario(RandomChooser(seed), Knobs(**knobs), name, seed)
