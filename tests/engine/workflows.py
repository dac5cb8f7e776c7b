"""Workflows used by the engine tests; importable by worker processes.

Bodies append to an effect log (``EFFECT_LOG`` env var) that the tests read: one line
per execution, ``<kind> <label-or-step> <process id> <attempt> <worker pid> <t0> <t1>``,
written with O_APPEND so a SIGKILL loses at most the line in flight.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass

from reference_engine import (
    CalcResult,
    ShellCalculation,
    WorkChain,
    calculation,
    current_execution,
    if_,
    while_,
)

EFFECT_LOG = "WFC_TEST_EFFECT_LOG"
SLOW = "WFC_TEST_SLOW_SECONDS"


def record(kind: str, name: str, started: float) -> None:
    path = os.environ.get(EFFECT_LOG)
    if not path:
        return
    ex = current_execution()
    pid = ex.process_id if ex else -1
    attempt = ex.attempt if ex else -1
    line = f"{kind} {name} {pid} {attempt} {os.getpid()} {started:.6f} {time.monotonic():.6f}\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def _pause() -> None:
    seconds = float(os.environ.get(SLOW, "0") or 0)
    if seconds:
        time.sleep(seconds)


@calculation
def double(x: int) -> dict[str, int]:
    started = time.monotonic()
    _pause()
    record("calc", "double", started)
    return {"result": 2 * x}


@calculation
def add(x: object, y: object) -> dict[str, object]:
    started = time.monotonic()
    record("calc", "add", started)
    return {"sum": x + y}  # type: ignore[operator]  # tests pass numbers


@calculation
def echo(value: object) -> dict[str, object]:
    record("calc", "echo", time.monotonic())
    return {"value": value}


@calculation
def echo_other(value: object) -> dict[str, object]:
    record("calc", "echo_other", time.monotonic())
    return {"value": value}


@calculation(invalidating_exit_codes=(13,))
def failing(value: object, status: int) -> CalcResult:
    record("calc", "failing", time.monotonic())
    return CalcResult({"value": value}, exit_status=status)


@calculation
def boom(value: object) -> dict[str, object]:
    record("calc", "boom", time.monotonic())
    raise RuntimeError("boom")


class ThreeSteps(WorkChain):
    """step1 launches double(x); step2 launches add(result, y); step3 sets outputs."""

    inputs_spec = ("x", "y")
    outline = ("step1", "step2", "step3")

    def step1(self) -> None:
        started = time.monotonic()
        _pause()
        record("step", "step1", started)
        self.ctx["seen"] = [1]
        self.launch(double, key="d", label="double", x=self.inputs["x"])

    def step2(self) -> None:
        started = time.monotonic()
        _pause()
        record("step", "step2", started)
        self.ctx["seen"] = [*self.ctx["seen"], 2]
        self.launch(add, key="a", label="add", x=self.ctx["d"]["outputs"]["result"],
                    y=self.inputs["y"])

    def step3(self) -> None:
        started = time.monotonic()
        _pause()
        record("step", "step3", started)
        self.out("total", self.ctx["a"]["outputs"]["sum"])
        self.out("seen", [*self.ctx["seen"], 3])


class Trivial(WorkChain):
    inputs_spec = ("x",)
    outline = ("only",)

    def only(self) -> None:
        self.out("x", self.inputs["x"])


class Loop(WorkChain):
    """while_ + if_: count to n, launching echo on even iterations."""

    inputs_spec = ("n",)
    outline = ("start", while_("more")("body", if_("even")("launch_echo")), "finish")

    def start(self) -> None:
        self.ctx["i"] = 0
        self.ctx["seen"] = []

    def more(self) -> bool:
        return bool(self.ctx["i"] < self.inputs["n"])

    def even(self) -> bool:
        return bool(self.ctx["i"] % 2 == 0)

    def body(self) -> None:
        self.ctx["i"] += 1

    def launch_echo(self) -> None:
        self.launch(echo, key=f"e{self.ctx['i']}", value=self.ctx["i"])
        self.ctx["seen"].append(self.ctx["i"])

    def finish(self) -> None:
        self.out("seen", self.ctx["seen"])


class Failing(WorkChain):
    inputs_spec = ("x",)
    outline = ("first", "second")

    def first(self) -> None:
        record("step", "first", time.monotonic())
        self.launch(echo, key="e", value=self.inputs["x"])

    def second(self) -> None:
        record("step", "second", time.monotonic())
        raise ValueError("second step is broken")


class BadContext(WorkChain):
    inputs_spec = ()
    outline = ("put_object",)

    def put_object(self) -> None:
        self.ctx["bad"] = object()


class Parent(WorkChain):
    """Launches a ThreeSteps sub-workflow and waits on it."""

    inputs_spec = ("x",)
    outline = ("launch_child", "collect")

    def launch_child(self) -> None:
        self.launch(ThreeSteps, key="child", x=self.inputs["x"], y=1)

    def collect(self) -> None:
        self.out("child_total", self.ctx["child"]["outputs"]["total"])


# --------------------------------------------------------------------------------------
# Reading the effect log. Kept beside ``record`` so the writer and the reader of the line
# format live in one place; only the tests call these (workers never do).


@dataclass(frozen=True)
class Effect:
    """One line of the effect log: one completed execution of a body."""

    kind: str
    name: str
    process: int
    attempt: int
    worker: int
    t0: float
    t1: float


def read_effects(path: str | os.PathLike[str]) -> list[Effect]:
    """Every effect in the log, in write order; a malformed line fails loudly."""
    if not os.path.exists(path):
        return []
    effects: list[Effect] = []
    with open(path, encoding="utf-8") as log:
        for line in log:
            if not line.strip():
                continue
            kind, name, process, attempt, worker, t0, t1 = line.split()
            effects.append(Effect(kind, name, int(process), int(attempt), int(worker),
                                  float(t0), float(t1)))
    return effects


def effect_counts(effects: list[Effect]) -> Counter[tuple[int, str]]:
    """How many times each (process id, step or calculation name) executed."""
    return Counter((e.process, e.name) for e in effects)


def overlapping_effects(effects: list[Effect]) -> list[tuple[Effect, Effect]]:
    """Pairs of effects of one process, in different workers, whose [t0, t1] overlap (C5).

    ``t0``/``t1`` are ``time.monotonic()`` values, comparable across processes on Linux.
    """
    by_process: dict[int, list[Effect]] = {}
    for effect in effects:
        by_process.setdefault(effect.process, []).append(effect)
    clashes: list[tuple[Effect, Effect]] = []
    for group in by_process.values():
        group.sort(key=lambda e: e.t0)
        for i, first in enumerate(group):
            for second in group[i + 1:]:
                if second.t0 > first.t1:
                    break
                if second.worker != first.worker:
                    clashes.append((first, second))
    return clashes


def repetition_problems(effects: list[Effect], killed_workers: set[int]) -> list[str]:
    """Violations of C2/C3 per (process, name), given the pids of every killed worker.

    A repeat is only legitimate when the earlier run's worker died before its commit, so:
    no worker runs one effect twice, and at most one run comes from a worker that was
    never killed. Together: runs <= (kills of workers that ran it) + 1.
    """
    runs: dict[tuple[int, str], list[int]] = {}
    for effect in effects:
        runs.setdefault((effect.process, effect.name), []).append(effect.worker)
    problems: list[str] = []
    for (process, name), workers in sorted(runs.items()):
        survivors = [w for w in workers if w not in killed_workers]
        if len(set(workers)) != len(workers) or len(survivors) > 1:
            problems.append(
                f"{name} of process {process} ran {len(workers)} times in workers {workers} "
                f"(killed workers: {sorted(killed_workers & set(workers))})"
            )
    return problems


class LingeringThreeSteps(ThreeSteps):
    """ThreeSteps whose steps pause again after their effect is logged.

    Why: a kill between an effect and its checkpoint is the one that makes the effect run
    again; this widens that window so random kills often land in it and the repeat shows
    in the log (a kill before ``record`` leaves no line at all).
    """

    def step1(self) -> None:
        super().step1()
        _pause()

    def step2(self) -> None:
        super().step2()
        _pause()

    def step3(self) -> None:
        super().step3()
        _pause()


# An external command as a calculation: bash adds two numbers, as AiiDA's
# core.arithmetic.add does with its bash code.
shell_add = ShellCalculation(
    "tests.engine.workflows:shell_add",
    ["bash", "-c", "echo $(( {x} + {y} ))"],
    inputs=("x", "y"),
    output="sum",
)
shell_fail = ShellCalculation(
    "tests.engine.workflows:shell_fail", ["bash", "-c", "echo oops >&2; exit {code}"],
    inputs=("code",), invalidating_exit_codes=(7,),
)
