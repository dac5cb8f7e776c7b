"""Fuzz figures side by side: the engine alone, ``wfconform fuzz`` on 1 and 2 workers, embedded.

Run from the repository root: ``python benchmarks/bench_fuzz.py`` (``--help`` for the
time boxes). Prints figures; it is not a test. Targets (issue 14): the CLI's sim fuzz
with one worker at least 500 scenarios/s per core and at least 40 % of ``bench_sim``'s
seeded scenarios/s measured in the same run; two workers at least 1.7 times one.

What each figure is:

- **engine only**: ``bench_sim``'s seeded scenarios (its ``PlanWorkflow`` workload, no
  harness), scenarios per CPU second of this process, best of ``--repeats``.
- **fuzz sim, N workers**: ``wfconform fuzz --tier sim --workers N --seed S
  --max-time T`` run as the user runs it (a subprocess); the rate is the one its summary
  line prints (scenarios over the campaign's wall-clock seconds, interpreter start-up
  and imports excluded, shrinking included, none expected on the correct engine).
- **fuzz embedded**: the same command on ``--tier embedded`` (worker OS processes,
  SQLite, files), one worker.

The machine's load average is printed before and after each figure: on a shared
machine a rate means little without it.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"fuzz: (\d+) scenarios in ([\d.]+) s \(([\d.]+) scenarios/s\)")


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f} (1/5 min) on {os.cpu_count()} CPUs"


def engine_rate(count: int, repeats: int) -> float:
    """``bench_sim``'s seeded scenarios per CPU second (best of ``repeats``)."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.bench_sim import draw, run

    scenarios = [draw(seed, 20, 0.02) for seed in range(count)]
    best = 0.0
    for _ in range(repeats):
        cpu = time.process_time()
        for scenario in scenarios:
            run(scenario)
        best = max(best, count / (time.process_time() - cpu))
    return best


def cli_fuzz(tier: str, workers: int, seconds: float, seed: int) -> tuple[int, float, float]:
    """``wfconform fuzz`` as a user runs it; (scenarios, seconds, scenarios/s) it printed."""
    with tempfile.TemporaryDirectory(prefix="wfconform-bench-fuzz-") as out:
        command = [sys.executable, "-m", "harness.cli", "fuzz", "--tier", tier,
                   "--workers", str(workers), "--seed", str(seed), "--max-time",
                   str(seconds), "--shrink-time", "1", "--out", out]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    match = SUMMARY.search(done.stdout)
    if match is None:
        raise SystemExit(f"no summary line from {' '.join(command)}:\n{done.stdout}\n"
                         f"{done.stderr}")
    return int(match[1]), float(match[2]), float(match[3])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="sim fuzz time box")
    parser.add_argument("--embedded-seconds", type=float, default=20.0)
    parser.add_argument("--engine-scenarios", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-embedded", action="store_true")
    args = parser.parse_args(argv)

    print(f"before: {_load()}", flush=True)
    engine = engine_rate(args.engine_scenarios, args.repeats)
    print(f"engine only (bench_sim seeded, CPU): {engine:8.0f} scenarios/s; {_load()}",
          flush=True)
    n1, s1, r1 = cli_fuzz("sim", 1, args.seconds, args.seed)
    print(f"wfconform fuzz --tier sim --workers 1: {r1:8.1f} scenarios/s ({n1} in {s1:.1f} s)"
          f" = {100 * r1 / engine:.0f} % of engine only; {_load()}", flush=True)
    n2, s2, r2 = cli_fuzz("sim", 2, args.seconds, args.seed)
    print(f"wfconform fuzz --tier sim --workers 2: {r2:8.1f} scenarios/s ({n2} in {s2:.1f} s)"
          f" = {r2 / r1:.2f} x one worker; {_load()}", flush=True)
    if not args.no_embedded:
        ne, se, re_ = cli_fuzz("embedded", 1, args.embedded_seconds, args.seed)
        print(f"wfconform fuzz --tier embedded --workers 1: {re_:8.2f} scenarios/s ({ne} in "
              f"{se:.1f} s); {_load()}", flush=True)
    print()
    print(f"{'figure':44} {'scenarios/s':>12}")
    print(f"{'engine only (bench_sim seeded, CPU)':44} {engine:12.0f}")
    print(f"{'fuzz --tier sim, 1 worker':44} {r1:12.1f}")
    print(f"{'fuzz --tier sim, 2 workers':44} {r2:12.1f}")
    if not args.no_embedded:
        print(f"{'fuzz --tier embedded, 1 worker':44} {re_:12.2f}")
    print(f"targets: 1 worker >= 500/s per core ({'met' if r1 >= 500 else 'NOT met'}), "
          f">= 40 % of engine only ({'met' if r1 >= 0.4 * engine else 'NOT met'}); "
          f"2 workers >= 1.7 x ({'met' if r2 >= 1.7 * r1 else 'NOT met'}); {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
