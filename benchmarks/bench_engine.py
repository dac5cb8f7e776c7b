"""Embedded-runtime figures: trivial workflows per second, and kill-to-resume latency.

Run from the repository root: ``python benchmarks/bench_engine.py`` (``--help`` for
sizes). Prints figures; it is not a test. Targets (issue 2): at least 100 workflows/s
with 2 workers, and at most 300 ms median kill-to-resume latency.

Definitions, so the figures mean one thing:

- **throughput**: ``N`` one-step workflows submitted back to back through
  ``Engine.submit`` while a 2-worker daemon runs; figure = N / (time from just before
  the first submit until all N are terminal). Completion is observed through a separate
  read-only SQLite connection polled every 5 ms, which takes no write lock, so the
  observer does not slow the workers it measures.
- **kill-to-resume latency**: a one-step workflow whose step logs
  ``time.monotonic()`` as its first action and then, on attempt 1 only, blocks. The
  benchmark waits for that log line, then SIGKILLs the worker running the step. Latency
  = the monotonic time logged by the *resumed* step (attempt 2, another worker) minus
  the monotonic time taken just before ``os.kill``. ``CLOCK_MONOTONIC`` is system-wide on
  Linux, so the two processes' readings compare. It covers: the daemon noticing the
  death, releasing the lease, a worker claiming the task, loading the checkpoint and
  entering the step. Measured two ways: with an idle second worker already running
  (the steady state; a trial starts only after the previous kill's replacement worker
  has had time to start), and with a single worker, where the resume also waits for
  the daemon to spawn a new worker process.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from reference_engine import Engine

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.workflows import BENCH_LOG, Trivial, one_kill  # after the path fix

TERMINAL = ("finished", "excepted", "killed")


# ------------------------------------------------------------------------ throughput
def count_terminal(db_path: str) -> int:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        marks = ",".join("?" * len(TERMINAL))
        query = f"SELECT count(*) FROM processes WHERE state IN ({marks})"
        return int(db.execute(query, TERMINAL).fetchone()[0])


def throughput_once(workdir: Path, n: int, workers: int) -> tuple[float, float]:
    """(workflows/s end to end, submissions/s) for one fresh database."""
    db_path = workdir / f"throughput-{time.monotonic_ns()}.db"
    with Engine(db_path) as engine, engine.daemon(workers) as daemon:
        daemon.wait_for_workers()
        time.sleep(0.5)  # let the workers finish importing: measure steady state
        start = time.perf_counter()
        for i in range(n):
            engine.submit(Trivial, x=i)
        submitted = time.perf_counter() - start
        while count_terminal(str(db_path)) < n:
            time.sleep(0.005)
        elapsed = time.perf_counter() - start
    return n / elapsed, n / submitted


# ------------------------------------------------------------------------ latency
def latency(workdir: Path, trials: int, workers: int, settle: float) -> list[float]:
    log = workdir / f"latency-{workers}.log"
    samples: list[float] = []
    with Engine(workdir / f"latency-{workers}.db") as engine, \
            engine.daemon(workers, {BENCH_LOG: str(log)}) as daemon:
        for trial in range(trials):
            daemon.wait_for_workers()
            time.sleep(settle)  # the replacement worker is importing: let it be ready
            samples.append(one_kill(engine, log, trial))
    return samples


# ------------------------------------------------------------------------ report
def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500, help="workflows per throughput run")
    parser.add_argument("--rounds", type=int, default=3, help="throughput runs")
    parser.add_argument("--trials", type=int, default=20, help="kills per latency figure")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="wfc-bench-") as tmp:
        workdir = Path(tmp)
        runs = [throughput_once(workdir, args.n, args.workers) for _ in range(args.rounds)]
        rates = [r for r, _ in runs]
        print(f"throughput: {args.n} trivial workflows, {args.workers} workers, "
              f"{args.rounds} runs: median {statistics.median(rates):.0f} workflows/s "
              f"(runs: {', '.join(f'{r:.0f}' for r in rates)}; submit alone: "
              f"{statistics.median(s for _, s in runs):.0f}/s)  target >= 100")
        for workers, settle, name in ((args.workers, 0.8, "idle peer worker"),
                                      (1, 0.0, "single worker, respawn")):
            samples = latency(workdir, args.trials, workers, settle)
            print(f"kill-to-resume ({name}, {len(samples)} kills): "
                  f"median {ms(statistics.median(samples))}, p90 {ms(percentile(samples, 0.9))}, "
                  f"min {ms(min(samples))}, max {ms(max(samples))}"
                  + ("  target <= 300 ms" if workers > 1 else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
