"""Where a sim fuzz campaign's CPU goes: the engine's share and the harness's, per part.

Run from the repository root: ``python benchmarks/fuzz_breakdown.py`` (``--help``).
Prints figures; it is not a test. ``bench_fuzz.py`` prints the same table after its
rates.

Why: issue 14 compares ``wfconform fuzz --tier sim`` with ``bench_sim``'s seeded
scenarios, but the fuzzer's generated scenarios are not ``bench_sim``'s (more
launches, faults, relaunches, invalidations, and values chosen to be hard to hash:
300-item tuples, 70-level nestings). This measures, on the fuzzer's own scenarios and
in one run, how many CPU seconds the engine spends and how many the harness does, so
"the harness costs N times the engine" is a figure, not a guess.

How: ``wfconform fuzz --tier sim --workers 1`` runs in this process (the CLI's own
``main``), with two kinds of accounting, both on ``time.process_time``:

- every greenlet switch is traced (``greenlet.settrace``): time inside a simulated
  worker's greenlet is the engine's (its store, executor, interpreter), except the
  scenario's step bodies (``harness.bodies``: the workload, as ``PlanWorkflow``'s
  bodies are ``bench_sim``'s), counted apart;
- a handful of functions are wrapped, each charging its time to a named part: the
  simulation's hub (scheduling, faults: engine), generation, the oracle, the checks,
  building the history, the adapter's observations. What no part claims is the runner,
  the contract checker, recording and the adapter's other calls ("harness, other").

The tracing costs a little in every switch (charged to whichever part runs), so the
total rate here is a few per cent below ``bench_fuzz``'s.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import io
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import greenlet

ROOT = Path(__file__).resolve().parents[1]

ENGINE_PARTS = ("engine: simulated workers", "engine: hub (scheduling, faults)",
                "workload: scenario step bodies")
"""What ``bench_sim``'s rate also pays for (its ``PlanWorkflow`` bodies are its workload)."""

HARNESS = "harness, other (runner, contract, recording, adapter)"


@dataclass
class Ledger:
    """CPU seconds per part; the part running now is the top of the current greenlet's
    stack (``push``/``pop`` by the wrapped functions, switches by the tracer)."""

    clock: Callable[[], float] = time.process_time
    seconds: dict[str, float] = field(default_factory=dict)
    stacks: dict[Any, list[str]] = field(default_factory=dict)
    main: Any = None
    last: float = 0.0

    def _stack(self, glet: Any) -> list[str]:
        stack = self.stacks.get(glet)
        if stack is None:
            stack = self.stacks[glet] = [HARNESS if glet is self.main else ENGINE_PARTS[0]]
        return stack

    def _charge(self, glet: Any) -> None:
        now = self.clock()
        part = self._stack(glet)[-1]
        self.seconds[part] = self.seconds.get(part, 0.0) + now - self.last
        self.last = now

    def push(self, part: str) -> None:
        glet = greenlet.getcurrent()
        self._charge(glet)
        self._stack(glet).append(part)

    def pop(self) -> None:
        glet = greenlet.getcurrent()
        self._charge(glet)
        self._stack(glet).pop()

    def trace(self, event: str, args: Any) -> None:
        if event in ("switch", "throw"):
            origin, _target = args
            self._charge(origin)

    def wrap(self, owner: Any, name: str, part: str) -> Callable[[], None]:
        """Charge ``owner.name``'s calls to ``part``; returns the undo."""
        original = getattr(owner, name)
        own = name in vars(owner)

        @functools.wraps(original)
        def charged(*args: Any, **kwargs: Any) -> Any:
            self.push(part)
            try:
                return original(*args, **kwargs)
            finally:
                self.pop()

        setattr(owner, name, charged)
        if own:
            return lambda: setattr(owner, name, original)
        return lambda: delattr(owner, name)  # it was inherited


@contextlib.contextmanager
def accounting() -> Iterator[Ledger]:
    """Install the tracer and the wrappers for the length of the block."""
    import harness.adapters.reference_sim as reference_sim
    import harness.bodies as bodies
    import harness.history as history
    import harness.runner as runner
    from reference_engine.sim.simulation import Simulation

    generate = importlib.import_module("scenarios.generate")  # the package's name is a function
    ledger = Ledger(main=greenlet.getcurrent())
    undo = [
        ledger.wrap(Simulation, "run_until_quiet", ENGINE_PARTS[1]),
        ledger.wrap(Simulation, "close", ENGINE_PARTS[1]),
        ledger.wrap(bodies.BodyRuntime, "run", ENGINE_PARTS[2]),
        ledger.wrap(generate, "generate", "harness: generating scenarios"),
        ledger.wrap(runner, "expect", "harness: oracle (expected outcomes)"),
        ledger.wrap(runner, "run_checks", "harness: clause checks"),
        ledger.wrap(history.HistoryRecorder, "build", "harness: building the history"),
        ledger.wrap(reference_sim.SimReferenceAdapter, "observe",
                    "harness: adapter observations"),
    ]
    ledger.last = ledger.clock()
    previous = greenlet.settrace(ledger.trace)
    try:
        yield ledger
    finally:
        greenlet.settrace(previous)
        ledger._charge(greenlet.getcurrent())
        for step in reversed(undo):
            step()


@dataclass(frozen=True)
class Breakdown:
    scenarios: int
    seconds: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    @property
    def engine(self) -> float:
        return sum(self.seconds.get(part, 0.0) for part in ENGINE_PARTS)

    def engine_rate(self) -> float:
        """Scenarios per CPU second of the engine and workload alone: the rate a harness
        that cost nothing would reach on these scenarios."""
        return self.scenarios / self.engine if self.engine else 0.0

    def table(self) -> str:
        lines = [f"{'part':56} {'CPU s':>7} {'share':>6} {'us/scenario':>12}"]
        for part, secs in sorted(self.seconds.items(), key=lambda kv: -kv[1]):
            lines.append(f"{part:56} {secs:7.2f} {100 * secs / self.total:5.1f}% "
                         f"{1e6 * secs / self.scenarios:12.0f}")
        lines.append(f"{'total':56} {self.total:7.2f} {100.0:5.1f}% "
                     f"{1e6 * self.total / self.scenarios:12.0f}")
        lines.append(
            f"{self.scenarios} generated scenarios: {self.scenarios / self.total:.0f} per CPU "
            f"second in all (traced); the engine and workload alone: "
            f"{self.engine_rate():.0f} per CPU second ({100 * self.engine / self.total:.0f} % "
            f"of the CPU); the harness costs {(self.total - self.engine) / self.engine:.2f} "
            "times the engine")
        return "\n".join(lines)


def breakdown(scenarios: int, seed: int = 1) -> Breakdown:
    """``wfconform fuzz --tier sim --workers 1 --seed SEED --max-examples SCENARIOS`` in this
    process, accounted (see the module docstring)."""
    sys.path.insert(0, str(ROOT))
    from harness.cli import main

    with tempfile.TemporaryDirectory(prefix="wfconform-fuzz-breakdown-") as out:
        def command(examples: int) -> list[str]:
            return ["fuzz", "--tier", "sim", "--workers", "1", "--seed", str(seed),
                    "--max-examples", str(examples), "--max-time", "3600",
                    "--shrink-time", "1", "--out", out, "--quiet"]

        # One scenario first: imports and first-use caches are not the steady state.
        with contextlib.redirect_stdout(io.StringIO()):
            main(command(1))
        printed = io.StringIO()
        with accounting() as ledger, contextlib.redirect_stdout(printed):
            status = main(command(scenarios))
    if status != 0:
        raise SystemExit(f"wfconform fuzz exited {status}:\n{printed.getvalue()}")
    return Breakdown(scenarios, dict(ledger.seconds))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    started = time.monotonic()
    result = breakdown(args.scenarios, args.seed)
    print(result.table())
    print(f"({time.monotonic() - started:.1f} s wall)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
