"""Simulation-tier figures: seeded scenarios/s and Hypothesis examples/s, on one core.

Run from the repository root: ``python benchmarks/bench_sim.py`` (``--help`` for sizes).
Prints figures; it is not a test. Targets (issue 5): at least 1,000 seeded scenarios/s
without Hypothesis, and at least 300 Hypothesis examples/s, for scenarios of at most 20
steps.

Definitions, so the figures mean one thing:

- **workload**: ``reference_engine.sim.workload``: one ``PlanWorkflow`` whose plan,
  drawn by ``random_plan(rng, max_steps=20)``, runs 2..20 workflow steps in all (nested
  sub-workflows included; mean about 11) and launches 0..3 calculations per step.
  The harness's ``ScenarioWorkflow`` is not used: its bodies journal through files and
  SIGKILL their own process, so it cannot run in-process yet (see the sim tier notes).
- **scenario**: draw the plan, the worker count (1..3) and the seed; build a
  ``Simulation`` with ``FaultRates.chaos(rate)`` (every random fault kind, at most 3
  faults); submit; ``run_until_quiet``; compute the ``digest``; check the output against
  ``expected_acc`` and the history for fencing violations. Everything a fuzzer does
  per scenario except the harness's clause checks.
- **rate**: scenarios / CPU seconds of this process (``time.process_time``), best of
  ``--repeats`` rounds, so other load on the machine inflates the figure less; wall-clock
  rates are printed beside them. The process is pinned to one CPU (``--no-pin`` to skip).
- **Hypothesis examples/s**: one ``@given`` test drawing the simulation's parameters
  (seed, workers, each fault rate, fault budget, plan seed and size), running the same
  body; ``phases=[generate]``, no database, no deadline; examples / CPU seconds.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from reference_engine.crashpoints import CrashPlan
from reference_engine.runtime.executor import execute
from reference_engine.sim import FaultRates, SimStore, Simulation, fencing_violations
from reference_engine.sim.workload import (
    PLAN_WORKFLOW,
    PlanWorkflow,
    count_steps,
    expected_acc,
    random_plan,
)


@dataclass(frozen=True)
class Scenario:
    seed: int
    workers: int
    plan: list[list[object]]
    faults: FaultRates


def draw(seed: int, max_steps: int, rate: float) -> Scenario:
    rng = random.Random(seed)
    plan = random_plan(rng, max_steps)
    return Scenario(seed, rng.randint(1, 3), plan, FaultRates.chaos(rate, max_faults=3))


def run(scenario: Scenario) -> tuple[int, bool]:
    """Simulate one scenario; its scheduling steps, and whether its result is right."""
    with Simulation(scenario.seed, scenario.workers, scenario.faults) as sim:
        pid = sim.submit(PlanWorkflow, plan=scenario.plan, acc=0)
        quiet = sim.run_until_quiet()
        sim.digest  # noqa: B018  # part of every run: computed, not needed here
        good = (quiet and sim.get(pid).outputs == {"acc": expected_acc(scenario.plan)}
                and not fencing_violations(sim.events) and not sim.crashes)
        return sim.steps, good


def _load() -> str:
    """The 1-minute load average, printed with each figure: on a shared machine a figure
    means little without it."""
    if not hasattr(os, "getloadavg"):
        return "load average unknown"
    return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"


def timed(body: Callable[[], int]) -> tuple[float, float, int]:
    wall, cpu = time.perf_counter(), time.process_time()
    count = body()
    return time.process_time() - cpu, time.perf_counter() - wall, count


def seeded(count: int, max_steps: int, rate: float, repeats: int) -> None:
    scenarios = [draw(seed, max_steps, rate) for seed in range(count)]
    steps = [count_steps(s.plan) for s in scenarios]
    bad: list[int] = []
    sched: list[int] = []

    def body() -> int:
        bad.clear()
        sched.clear()
        for scenario in scenarios:
            n, good = run(scenario)
            sched.append(n)
            if not good:
                bad.append(scenario.seed)
        return len(scenarios)

    rounds = [timed(body) for _ in range(repeats)]
    cpu, wall, _ = min(rounds)
    print(f"seeded scenarios: {count} per round, workflow steps per scenario "
          f"{min(steps)}..{max(steps)} (mean {statistics.mean(steps):.1f}), scheduling "
          f"steps per scenario mean {statistics.mean(sched):.0f}, fault rate {rate} x5 kinds")
    print(f"  {count / cpu:8.0f} scenarios/s CPU (best of {repeats}; all rounds: "
          f"{', '.join(f'{count / r[0]:.0f}' for r in rounds)})")
    print(f"  {count / wall:8.0f} scenarios/s wall clock (same round); {_load()}")
    print(f"  wrong results or fencing violations: {len(bad)} {bad[:10]}")


def engine_only(count: int, max_steps: int, repeats: int) -> None:
    """The floor: the same plans through ``execute`` on a ``SimStore``, one plain loop,
    no scheduler, no greenlets, no faults, no history. What the simulator adds is the
    difference to the seeded figure."""
    plans = [draw(seed, max_steps, 0.0).plan for seed in range(count)]

    def body() -> int:
        for plan in plans:
            store = SimStore(lambda: 0.0)
            store.create_process(PLAN_WORKFLOW, "p", "workflow", {"plan": plan, "acc": 0})
            crash_plan = CrashPlan()
            while (claimed := store.claim("w1")) is not None:
                execute(store, claimed, crash_plan)  # type: ignore[arg-type]  # Store's API
        return count

    cpu = min(timed(body) for _ in range(repeats))[0]
    print(f"engine only (floor, no simulation): {count / cpu:8.0f} scenarios/s CPU; {_load()}")


def hypothesis_rate(examples: int, repeats: int) -> None:
    failures: list[int] = []

    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate])
    @given(
        seed=st.integers(0, 2**32 - 1),
        workers=st.integers(1, 3),
        rates=st.tuples(*[st.floats(0.0, 0.05) for _ in range(5)]),
        max_faults=st.integers(0, 4),
        plan_seed=st.integers(0, 2**32 - 1),
        max_steps=st.integers(2, 20),
    )
    def example(seed: int, workers: int, rates: tuple[float, ...], max_faults: int,
                plan_seed: int, max_steps: int) -> None:
        plan = random_plan(random.Random(plan_seed), max_steps)
        _, good = run(Scenario(seed, workers, plan, FaultRates(*rates, max_faults)))
        if not good:
            failures.append(seed)

    def body() -> int:
        example()
        return examples

    rounds = [timed(body) for _ in range(repeats)]
    cpu, wall, _ = min(rounds)
    print(f"hypothesis examples: {examples} per round (phases=[generate])")
    print(f"  {examples / cpu:8.0f} examples/s CPU (best of {repeats}; all rounds: "
          f"{', '.join(f'{examples / r[0]:.0f}' for r in rounds)})")
    print(f"  {examples / wall:8.0f} examples/s wall clock (same round); {_load()}")
    print(f"  wrong results or fencing violations: {len(failures)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=2000)
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--max-steps", type=int, default=20)
    parser.add_argument("--rate", type=float, default=0.02, help="per fault kind")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-pin", action="store_true", help="do not pin to one CPU")
    args = parser.parse_args(argv)
    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        print(f"pinned to CPU {cpu}; load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} CPUs")
    seeded(args.scenarios, args.max_steps, args.rate, args.repeats)
    engine_only(args.scenarios, args.max_steps, args.repeats)
    hypothesis_rate(args.examples, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
