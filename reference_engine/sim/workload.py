"""Generated workloads for the simulator's own tests and benchmark: data-driven workflows.

``PlanWorkflow`` runs a *plan* given as an input: a list of steps, each one of

- ``["compute", n]``: ``acc += n`` in the step body;
- ``["calcs", [n, ...]]``: launch one ``plan_add(x=acc, y=n)`` per item; the next step
  adds their sums to ``acc``;
- ``["sub", plan]``: launch a ``PlanWorkflow`` child on ``plan`` from ``acc``; its
  output ``acc`` replaces ours;

then a ``finish`` step outputs ``{"acc": ...}``. ``expected_acc`` computes the same value
without an engine, so a test knows the fault-free outputs. ``random_plan`` draws plans
of a bounded number of steps (nested plans included). Why here and not in tests: worker
processes resolve types by ``module:Name``, and benchmarks must not be imported by
anything.
"""

from __future__ import annotations

import random
from typing import Any

from reference_engine.core.outline import while_
from reference_engine.core.process import WorkChain, calculation, type_string_of
from reference_engine.sim.history import record_effect

Plan = list[list[Any]]


@calculation
def plan_add(x: int, y: int) -> dict[str, int]:
    record_effect("plan_add")
    return {"sum": x + y}


class PlanWorkflow(WorkChain):
    """Interprets ``inputs["plan"]`` one step per checkpoint, starting from ``inputs["acc"]``."""

    inputs_spec = ("plan", "acc")
    outline = (while_("more")("item"), "finish")

    def more(self) -> bool:
        return int(self.ctx.get("i", 0)) < len(self.inputs["plan"])

    def item(self) -> None:
        i = int(self.ctx.get("i", 0))
        acc = self._absorb()
        record_effect(f"s{i}")
        kind, arg = self.inputs["plan"][i]
        if kind == "compute":
            acc += arg
        elif kind == "calcs":
            for j, y in enumerate(arg):
                self.launch(plan_add, key=f"c{i}_{j}", label="plan_add", x=acc, y=y)
            self.ctx["pending"] = [f"c{i}_{j}" for j in range(len(arg))]
        else:
            self.launch(PlanWorkflow, key=f"w{i}", label="sub", plan=arg, acc=acc)
            self.ctx["pending"] = [f"w{i}"]
        self.ctx["acc"], self.ctx["i"] = acc, i + 1

    def finish(self) -> None:
        acc = self._absorb()
        record_effect("finish")
        self.out("acc", acc)

    def _absorb(self) -> int:
        """``acc`` with the children the previous step launched folded in (views in ctx)."""
        acc = int(self.ctx.get("acc", self.inputs["acc"]))
        for key in self.ctx.pop("pending", []):
            outputs = self.ctx.pop(key)["outputs"]
            acc = outputs["acc"] if key.startswith("w") else acc + outputs["sum"]
        return acc


PLAN_WORKFLOW = type_string_of(PlanWorkflow)


def expected_acc(plan: Plan, acc: int = 0) -> int:
    """What ``PlanWorkflow`` outputs on ``plan`` when nothing goes wrong."""
    for kind, arg in plan:
        if kind == "compute":
            acc += arg
        elif kind == "calcs":
            acc = acc + sum(acc + y for y in arg)
        else:
            acc = expected_acc(arg, acc)
    return acc


def count_steps(plan: Plan) -> int:
    """Workflow steps a run of ``plan`` executes: its items, nested ones, and each finish."""
    return 1 + sum(1 + (count_steps(arg) if kind == "sub" else 0) for kind, arg in plan)


def random_plan(rng: random.Random, max_steps: int = 20, depth: int = 2) -> Plan:
    """A plan whose run executes 2..``max_steps`` workflow steps (``count_steps``)."""
    if max_steps < 2:
        raise ValueError(f"max_steps={max_steps!r}: a plan needs at least 2 steps (one item "
                         "and the finish step)")
    return _plan(rng, rng.randint(1, max_steps - 1), depth)


def _plan(rng: random.Random, budget: int, depth: int) -> Plan:
    plan: Plan = []
    while budget > 0:
        roll = rng.random()
        if roll < 0.15 and depth > 0 and budget >= 3:
            size = rng.randint(1, budget - 2)  # the child's items; +1 its finish, +1 this step
            plan.append(["sub", _plan(rng, size, depth - 1)])
            budget -= size + 2
        elif roll < 0.55:
            plan.append(["calcs", [rng.randint(-5, 5) for _ in range(rng.randint(1, 3))]])
            budget -= 1
        else:
            plan.append(["compute", rng.randint(-9, 9)])
            budget -= 1
    return plan
