"""The kill-storm soak's workload (``soak.py``), importable by worker processes.

``Soak`` launches one calculation and then uses its result, so a kill can land while it
waits, while the child runs, or between its steps: every recovery path is exercised.
"""

from __future__ import annotations

from reference_engine import WorkChain, calculation

__all__ = ["Soak", "expected", "triple"]


@calculation
def triple(x: int) -> dict[str, int]:
    return {"y": 3 * x}


class Soak(WorkChain):
    inputs_spec = ("x",)
    outline = ("start", "use", "finish")

    def start(self) -> None:
        self.launch(triple, key="t", x=self.inputs["x"])

    def use(self) -> None:
        self.ctx["z"] = self.ctx["t"]["outputs"]["y"] + 1

    def finish(self) -> None:
        self.out("z", self.ctx["z"])


def expected(x: int) -> dict[str, int]:
    return {"z": 3 * x + 1}
