"""Scenario generation figures: scenarios/s for `generate` and for Hypothesis draws.

Run from the repository root: ``python benchmarks/bench_scenarios.py`` (``--help`` for
sizes). Prints figures; it is not a test. Target (issue 3): at least 2,000 scenarios/s
from `generate` for typical sizes (the default knobs: at most 8 steps).

Definitions, so the figures mean one thing:

- **generate**: `scenarios.generate(seed)` for seeds 0..N-1, one core, including the
  `validate()` call it makes; figures = N / CPU time of this process (what one core
  does, stable on a shared machine) and N / wall time, each the best of `--rounds`.
- **hypothesis**: a `@given(scenarios())` test with an empty body run for N examples
  (database off, no shrinking since nothing fails); figure = examples run / wall time.
  It includes Hypothesis's own engine overhead, which is what fuzzing pays.
- **oracle**: `expect(scenario, Capabilities.everything())` over the generated scenarios.
- **mix**: counts of each step kind and fault kind over the first 1,000 seeds.

Measured 2026-12-04 (issue 13, calculations in near-pair series; the 2-core machine shared
with other jobs, so CPU figures are low for both): ``--count 3000 --examples 300``,
max_steps 8, load 8: main 1,500 scenarios/s per core, this change 1,975 (hypothesis 39 and
56 scenarios/s). A plain loop of ``generate(seed)`` for 3,000 seeds, best of 3 CPU times,
load 8: 2,073 before, 2,847 after. Faster although each scenario now holds more near
pairs: ``near`` walks a pooled value's places once per process instead of at every draw.
A series' cross-type member (K8), same machine at load 3.3, ``bench_generate(3000, 8, 3)``
alternating main and the change: main 2,604, 2,701 and 2,868 scenarios/s per core, the
change 2,310, 2,740 and 2,768 (in a profile the member is 2.5 % of `generate`). At the
default ``--count 5000`` the change reads 10-15 % lower (2,163 at load 2, main 2,794 at
load 2.5): the kept scenarios (0.6 % more objects) cross one more full collection of the
garbage collector (7 against 6, 0.9 s against 0.66 s of GC); at 4,000 and 6,000 both make
the same collections and the time outside the collector is the same.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scenarios import (
    Capabilities,
    expect,
    fault_kind,
    generate,
    iter_steps,
    step_kind,
)


def bench_generate(count: int, max_steps: int, rounds: int) -> tuple[float, float, list]:
    best_cpu = best_wall = 0.0
    drawn: list = []
    for _ in range(rounds):
        cpu, wall = time.process_time(), time.perf_counter()
        drawn = [generate(seed, max_steps=max_steps) for seed in range(count)]
        best_cpu = max(best_cpu, count / (time.process_time() - cpu))
        best_wall = max(best_wall, count / (time.perf_counter() - wall))
    return best_cpu, best_wall, drawn


def bench_hypothesis(count: int, max_steps: int) -> float:
    from hypothesis import HealthCheck, Phase, given, settings

    from scenarios.strategies import scenarios

    seen = [0]

    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(scenarios(max_steps=max_steps))
    def run(scenario):
        seen[0] += 1

    start = time.perf_counter()
    run()
    return seen[0] / (time.perf_counter() - start)


def bench_oracle(drawn: list) -> float:
    caps = Capabilities.everything()
    start = time.perf_counter()
    for scenario in drawn:
        expect(scenario, caps)
    return len(drawn) / (time.perf_counter() - start)


def mix(count: int) -> tuple[Counter[str], Counter[str]]:
    steps: Counter[str] = Counter()
    faults: Counter[str] = Counter()
    for seed in range(count):
        scenario = generate(seed)
        for workflow in scenario.workflows:
            steps.update(step_kind(step) for step in iter_steps(workflow.steps))
        faults.update(fault_kind(fault) for fault in scenario.faults)
    return steps, faults


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000, help="scenarios for generate")
    parser.add_argument("--examples", type=int, default=500, help="Hypothesis examples")
    parser.add_argument("--rounds", type=int, default=3, help="rounds for generate")
    args = parser.parse_args()
    generate(0)  # warm imports
    for max_steps in (8, 20):
        cpu, wall, drawn = bench_generate(args.count, max_steps, args.rounds)
        print(f"generate (max_steps={max_steps:2d}):   {cpu:8.0f} scenarios/s per core "
              f"({wall:.0f}/s wall; target >= 2000 for typical sizes)")
        print(f"oracle   (max_steps={max_steps:2d}):   {bench_oracle(drawn):8.0f} expectations/s")
        hyp = bench_hypothesis(args.examples, max_steps)
        print(f"hypothesis (max_steps={max_steps:2d}): {hyp:8.0f} scenarios/s")
    steps, faults = mix(1000)
    print("step kinds over 1000 draws: " + ", ".join(f"{k} {v}" for k, v in steps.most_common()))
    print("fault kinds over 1000 draws: " + ", ".join(f"{k} {v}" for k, v in faults.most_common()))


if __name__ == "__main__":
    main()
