"""Workflows for the simulation tests; also run on the embedded runtime (differential test).

Each body journals its effect exactly once per execution: into the simulation's history
(``record_effect``) when it runs in a simulated worker, else into the embedded tests'
effect log (``tests.engine.workflows.record``, active when its env var is set).
Children get labels derived from the ``tag`` input, so one fault can target one process.
"""

from __future__ import annotations

import time

from reference_engine import WorkChain, calculation, current_execution
from reference_engine.sim import current_simulation, record_effect
from tests.engine.workflows import record


def note(kind: str, name: str) -> None:
    if not record_effect(name):
        record(kind, name, time.monotonic())


@calculation
def double(x: int) -> dict[str, int]:
    note("calc", "double")
    return {"result": 2 * x}


@calculation
def add(x: int, y: int) -> dict[str, int]:
    note("calc", "add")
    return {"sum": x + y}


class ThreeSteps(WorkChain):
    """step1 launches double(x); step2 launches add(result, y); step3 sets outputs."""

    inputs_spec = ("x", "y", "tag")
    outline = ("step1", "step2", "step3")

    def step1(self) -> None:
        note("step", "step1")
        self.ctx["seen"] = [1]
        self.launch(double, key="d", label=f"{self.inputs['tag']}_double", x=self.inputs["x"])

    def step2(self) -> None:
        note("step", "step2")
        self.ctx["seen"] = [*self.ctx["seen"], 2]
        self.launch(add, key="a", label=f"{self.inputs['tag']}_add",
                    x=self.ctx["d"]["outputs"]["result"], y=self.inputs["y"])

    def step3(self) -> None:
        note("step", "step3")
        self.out("total", self.ctx["a"]["outputs"]["sum"])
        self.out("seen", [*self.ctx["seen"], 3])


class Fanout(WorkChain):
    """One step launches ``n`` doubles at once; the next sums them, the last reports."""

    inputs_spec = ("n", "tag")
    outline = ("spread", "gather", "report")

    def spread(self) -> None:
        note("step", "spread")
        for i in range(self.inputs["n"]):
            self.launch(double, key=f"d{i}", label=f"{self.inputs['tag']}_double", x=i)

    def gather(self) -> None:
        note("step", "gather")
        self.ctx["sum"] = sum(self.ctx[f"d{i}"]["outputs"]["result"]
                              for i in range(self.inputs["n"]))

    def report(self) -> None:
        note("step", "report")
        self.out("sum", self.ctx["sum"])


class Nested(WorkChain):
    """Launches a ThreeSteps sub-workflow, then doubles its total."""

    inputs_spec = ("x", "tag")
    outline = ("launch_child", "collect")

    def launch_child(self) -> None:
        note("step", "launch_child")
        self.launch(ThreeSteps, key="child", label=f"{self.inputs['tag']}_child",
                    x=self.inputs["x"], y=1, tag=f"{self.inputs['tag']}_child")

    def collect(self) -> None:
        note("step", "collect")
        self.out("total", 2 * self.ctx["child"]["outputs"]["total"])


class AsksForFaults(WorkChain):
    """On its first attempt, step ``hit`` asks the simulation for ``inputs["fault"]``
    right after its effect (a journal-triggered fault, as a harness nemesis lands one)."""

    inputs_spec = ("fault",)
    outline = ("hit", "after")

    def hit(self) -> None:
        note("step", "hit")
        execution = current_execution()
        sim = current_simulation()
        if sim is not None and execution is not None and execution.attempt == 1:
            sim.queue_fault(self.inputs["fault"])
        self.launch(double, key="d", label="asks_double", x=4)

    def after(self) -> None:
        note("step", "after")
        self.out("result", self.ctx["d"]["outputs"]["result"])


class AsksForTakeover(WorkChain):
    """Step ``hit`` asks, on its first attempt, for ``Simulation.queue_takeover(kind)``."""

    inputs_spec = ("kind",)
    outline = ("hit", "after")

    def hit(self) -> None:
        note("step", "hit")
        execution = current_execution()
        sim = current_simulation()
        if sim is not None and execution is not None and execution.attempt == 1:
            sim.queue_takeover(self.inputs["kind"])
        self.ctx["hit"] = 1

    def after(self) -> None:
        note("step", "after")
        self.out("result", self.ctx["hit"])
