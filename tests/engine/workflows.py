"""Workflows used by the engine tests; importable by worker processes.

Bodies append to an effect log (``EFFECT_LOG`` env var) that the tests read: one line
per execution, ``<kind> <label-or-step> <process id> <attempt> <worker pid> <t0> <t1>``,
written with O_APPEND so a SIGKILL loses at most the line in flight.
"""

from __future__ import annotations

import os
import time

from reference_engine import CalcResult, WorkChain, calculation, current_execution, if_, while_

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
