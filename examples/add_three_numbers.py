"""The AddThreeNumbers story that started wfconform, runnable with no arguments.

A user's workflow adds x+y, then +z. Step 2 raises on the first launch (a bug). He
"restarts" it and sees step 1 run again: an excepted process is terminated, and a
relaunch is a *new instance* that starts from step one. Only caching lets the new
instance skip add_xy. This script shows all three facts on the embedded engine.

    python examples/add_three_numbers.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from reference_engine import Engine, WorkChain, calculation, current_execution

BUG_FLAG = "ADD_THREE_NUMBERS_BUG_FILE"  # step 2 raises while this file exists
RUN_LOG = "ADD_THREE_NUMBERS_RUN_LOG"  # each real execution of add appends a line


@calculation
def add(x: int, y: int) -> dict[str, int]:
    """Add two numbers; log the execution so the example can count real runs."""
    log = os.environ.get(RUN_LOG)
    if log:
        execution = current_execution()
        label = execution.label if execution else "add"
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{label}\n")
    return {"sum": x + y}


class AddThreeNumbers(WorkChain):
    inputs_spec = ("x", "y", "z")
    outline = ("add_xy", "add_xyz", "result")

    def add_xy(self) -> None:
        self.launch(add, key="xy", label="add_xy", x=self.inputs["x"], y=self.inputs["y"])

    def add_xyz(self) -> None:
        flag = os.environ.get(BUG_FLAG)
        if flag and Path(flag).exists():
            raise ValueError("Some bug")
        total = self.ctx["xy"]["outputs"]["sum"]
        self.launch(add, key="xyz", label="add_xyz", x=total, y=self.inputs["z"])

    def result(self) -> None:
        self.out("sum", self.ctx["xyz"]["outputs"]["sum"])


def _runs(log: Path, label: str) -> int:
    return log.read_text().splitlines().count(label) if log.exists() else 0


def _add_xy_child(engine: Engine, workflow_id: int) -> dict[str, object]:
    children = [engine.show(c) for c in engine.show(workflow_id)["children"]]
    return next(c for c in children if c["label"] == "add_xy")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="add-three-") as folder:
        log, bug = Path(folder) / "runs.log", Path(folder) / "bug"
        bug.touch()
        env = {RUN_LOG: str(log), BUG_FLAG: str(bug)}
        with Engine(Path(folder) / "engine.db") as engine, engine.daemon(2, env):
            first = engine.wait(engine.submit(AddThreeNumbers, x=1, y=2, z=3))
            print(f"1. First launch: process {first.id} is {first.state} "
                  f"({first.message}); add_xy ran {_runs(log, 'add_xy')} time(s).")
            bug.unlink()  # the user fixes the bug
            second = engine.wait(engine.relaunch(first.id))
            print(f"2. Relaunch without caching: new process {second.id} (not {first.id}) is "
                  f"{second.state} with sum={second.outputs['sum']}; add_xy ran again: "
                  f"{_runs(log, 'add_xy')} runs in all. Process {first.id} is still "
                  f"{engine.get(first.id).state}.")
            engine.set_caching(enabled=["*:add"])
            before = _runs(log, "add_xy")
            third = engine.wait(engine.relaunch(first.id))
            hit = _add_xy_child(engine, third.id)
            print(f"3. Relaunch with caching on: new process {third.id} is {third.state} with "
                  f"sum={third.outputs['sum']}; add_xy is a cache hit from process "
                  f"{hit['cached_from']} and did not run (runs: {before} -> "
                  f"{_runs(log, 'add_xy')}).")
    return 0


if __name__ == "__main__":
    # Workers import process types by module name, so run this file as its module.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import add_three_numbers

    sys.exit(add_three_numbers.main())
