"""Fuzz figures side by side: the engine alone, ``wfconform fuzz`` on 1 and 2 workers, embedded.

Run from the repository root: ``python benchmarks/bench_fuzz.py`` (``--help`` for the
time boxes). Prints figures; it is not a test. Targets (issue 14): the CLI's sim fuzz
with one worker at least 500 scenarios/s per core and at least 40 % of ``bench_sim``'s
seeded scenarios/s measured in the same run; two workers at least 1.7 times one.

What each figure is:

- **engine only**: ``bench_sim``'s seeded scenarios (its ``PlanWorkflow`` workload, no
  harness), scenarios per CPU second of this process, best of ``--repeats``.
- **fuzz sim, N workers**: ``wfconform fuzz --tier sim --workers N --seed S
  --max-time T`` run as the user runs it (a subprocess). Two rates: the wall-clock one
  its summary line says (scenarios over the campaign's wall-clock seconds, interpreter
  start-up and imports excluded, shrinking included, none expected on the correct
  engine), and scenarios per CPU second (user + system of the command and its worker
  processes, less a one-scenario run of the same command: start-up and imports), the
  per-core figure, which a shared machine's other load inflates far less.
- **fuzz embedded**: the same command on ``--tier embedded`` (worker OS processes,
  SQLite, files), one worker; **fuzz real** (``--real-seconds``): on ``--tier real``
  (PostgreSQL, RabbitMQ). ``benchmarks/fuzz_phases.py`` splits their wall time by phase.
- **breakdown** (``benchmarks/fuzz_breakdown.py``): the 1-worker command again, in this
  process, its CPU seconds split between the engine (with the scenarios' step bodies)
  and each part of the harness. Its "engine and workload alone" rate is the engine-only
  rate on the fuzzer's own generated scenarios, which cost the engine several times
  what ``bench_sim``'s do (more launches and faults, values made to be hard to hash):
  the like-for-like yardstick for the harness's overhead.

The machine's load average is printed before and after each figure: on a shared
machine a rate means little without it.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"fuzz: (\d+) scenarios in ([\d.]+) s \(")
"""The summary line; its rate reads ``N scenarios/s`` or, below one a second,
``N s/scenario``, so the rate is computed here from the count and the seconds."""


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


@dataclass(frozen=True)
class CliRun:
    """One ``wfconform fuzz`` command: what its summary printed, and the CPU seconds
    (user + system) of the command and every process it started."""

    scenarios: int
    seconds: float
    cpu: float

    @property
    def rate(self) -> float:
        """Scenarios per wall-clock second of the campaign (the summary's figure)."""
        return self.scenarios / self.seconds if self.seconds > 0 else 0.0


def cli_fuzz(tier: str, workers: int, seconds: float, seed: int,
             max_examples: int | None = None) -> CliRun:
    """``wfconform fuzz`` as a user runs it (a subprocess)."""
    with tempfile.TemporaryDirectory(prefix="wfconform-bench-fuzz-") as out:
        command = [sys.executable, "-m", "harness.cli", "fuzz", "--tier", tier,
                   "--workers", str(workers), "--seed", str(seed), "--max-time",
                   str(seconds), "--shrink-time", "1", "--out", out]
        if max_examples is not None:
            command += ["--max-examples", str(max_examples)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    match = SUMMARY.search(done.stdout)
    if match is None:
        raise SystemExit(f"no summary line from {' '.join(command)}:\n{done.stdout}\n"
                         f"{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return CliRun(int(match[1]), float(match[2]), cpu)


def cpu_rate(run: CliRun, startup: CliRun) -> float:
    """Scenarios per CPU second of ``run`` beyond a one-scenario run of the same command
    (interpreter start-up and imports), i.e. per core: on a shared machine the wall-clock
    rate says more about the other load than about the harness."""
    extra_cpu = run.cpu - startup.cpu
    extra = run.scenarios - startup.scenarios
    return extra / extra_cpu if extra_cpu > 0 and extra > 0 else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="sim fuzz time box")
    parser.add_argument("--embedded-seconds", type=float, default=20.0)
    parser.add_argument("--engine-scenarios", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-embedded", action="store_true")
    parser.add_argument("--real-seconds", type=float, default=0.0,
                        help="also fuzz the real tier this long (PostgreSQL and RabbitMQ "
                        "from WFCONFORM_POSTGRES_URL and WFCONFORM_RABBITMQ_URL, else "
                        "throwaway servers); 0: skip it")
    parser.add_argument("--breakdown-scenarios", type=int, default=1000,
                        help="scenarios of the CPU breakdown (0: skip it)")
    args = parser.parse_args(argv)

    print(f"before: {_load()}", flush=True)
    engine = engine_rate(args.engine_scenarios, args.repeats)
    print(f"engine only (bench_sim seeded, CPU): {engine:8.0f} scenarios/s; {_load()}",
          flush=True)
    start = cli_fuzz("sim", 1, args.seconds, args.seed, max_examples=1)
    one = cli_fuzz("sim", 1, args.seconds, args.seed)
    c1 = cpu_rate(one, start)
    print(f"wfconform fuzz --tier sim --workers 1: {one.rate:8.1f} scenarios/s wall "
          f"({one.scenarios} in {one.seconds:.1f} s), {c1:8.1f} scenarios/s CPU (per core; "
          f"start-up {start.cpu:.2f} s CPU left out) = {100 * c1 / engine:.0f} % of engine "
          f"only; {_load()}", flush=True)
    two = cli_fuzz("sim", 2, args.seconds, args.seed)
    c2 = cpu_rate(two, start)
    print(f"wfconform fuzz --tier sim --workers 2: {two.rate:8.1f} scenarios/s wall "
          f"({two.scenarios} in {two.seconds:.1f} s) = {two.rate / one.rate:.2f} x one "
          f"worker, {c2:8.1f} scenarios/s per CPU second; {_load()}", flush=True)
    emb = None
    if not args.no_embedded:
        emb = cli_fuzz("embedded", 1, args.embedded_seconds, args.seed)
        print(f"wfconform fuzz --tier embedded --workers 1: {emb.rate:8.2f} scenarios/s wall "
              f"({emb.scenarios} in {emb.seconds:.1f} s); {_load()}", flush=True)
    real = None
    if args.real_seconds > 0:
        real = cli_fuzz("real", 1, args.real_seconds, args.seed)
        print(f"wfconform fuzz --tier real --workers 1: {real.rate:8.2f} scenarios/s wall "
              f"({real.scenarios} in {real.seconds:.1f} s; phases: "
              f"benchmarks/fuzz_phases.py --tier real); {_load()}", flush=True)
    split = None
    if args.breakdown_scenarios > 0:
        from benchmarks.fuzz_breakdown import breakdown

        split = breakdown(args.breakdown_scenarios, args.seed)
        print(f"\nwhere the 1-worker command's CPU goes ({args.breakdown_scenarios} scenarios, "
              f"traced; {_load()}):\n{split.table()}", flush=True)
    print()
    print(f"{'figure':44} {'wall /s':>10} {'CPU /s':>10}")
    print(f"{'engine only (bench_sim seeded)':44} {'':>10} {engine:10.0f}")
    print(f"{'fuzz --tier sim, 1 worker':44} {one.rate:10.1f} {c1:10.1f}")
    print(f"{'fuzz --tier sim, 2 workers':44} {two.rate:10.1f} {c2:10.1f}")
    if emb is not None:
        print(f"{'fuzz --tier embedded, 1 worker':44} {emb.rate:10.2f}")
    if real is not None:
        print(f"{'fuzz --tier real, 1 worker':44} {real.rate:10.2f}")
    if split is not None:
        alone = split.engine_rate()
        print(f"{'engine alone on generated scenarios':44} {'':>10} {alone:10.0f}")
        print(f"like for like: 1 worker = {100 * c1 / alone:.0f} % of the engine alone on the "
              f"same generated scenarios; a generated scenario costs the engine "
              f"{engine / alone:.1f} times a bench_sim one")
    print(f"targets: 1 worker >= 500/s per core ({'met' if c1 >= 500 else 'NOT met'}: "
          f"{c1:.0f} per CPU second), >= 40 % of engine only ("
          f"{'met' if c1 >= 0.4 * engine else 'NOT met'}: {100 * c1 / engine:.0f} %); "
          f"2 workers >= 1.7 x ({'met' if two.rate >= 1.7 * one.rate else 'NOT met'}: "
          f"{two.rate / one.rate:.2f} x, wall); {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
