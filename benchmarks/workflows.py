"""What the engine benchmarks run and how they time a kill: shared by every tier.

The workflow classes live in an importable module (not in a script's ``__main__``)
because workers import process types by ``"module:Name"``. ``bench_engine.py`` (embedded)
and ``bench_real.py`` (PostgreSQL + RabbitMQ) run the same two workflows and read the same
log, so their figures compare.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from reference_engine import Engine, WorkChain, current_execution

__all__ = ["BENCH_LOG", "BLOCK_SECONDS", "BlockOnce", "Trivial", "log_lines", "one_kill",
           "wait_for_line"]

BENCH_LOG = "WFC_BENCH_LOG"
BLOCK_SECONDS = 60.0


class Trivial(WorkChain):
    """The smallest workflow: one step that copies its input to an output."""

    inputs_spec = ("x",)
    outline = ("only",)

    def only(self) -> None:
        self.out("x", self.inputs["x"])


class BlockOnce(WorkChain):
    """Logs the start of its step, then blocks on attempt 1 so a kill lands inside it.

    Each line is ``process attempt worker-pid monotonic-start``; ``CLOCK_MONOTONIC`` is
    system-wide on Linux, so the benchmark's and the worker's readings compare.
    """

    inputs_spec = ("n",)
    outline = ("block",)

    def block(self) -> None:
        started = time.monotonic()
        ex = current_execution()
        attempt = ex.attempt if ex else -1
        line = f"{self.process_id} {attempt} {os.getpid()} {started:.6f}\n"
        fd = os.open(os.environ[BENCH_LOG], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        if attempt == 1:
            time.sleep(BLOCK_SECONDS)
        self.out("n", self.inputs["n"])


def log_lines(log: Path) -> list[tuple[int, int, int, float]]:
    """The ``BlockOnce`` lines written so far: (process, attempt, worker pid, start)."""
    if not log.exists():
        return []
    rows = []
    for line in log.read_text().splitlines():
        pid, attempt, worker, at = line.split()
        rows.append((int(pid), int(attempt), int(worker), float(at)))
    return rows


def wait_for_line(log: Path, pid: int, attempt: int, timeout: float = 30.0) -> tuple[int, float]:
    """(worker pid, monotonic start) of ``attempt`` of process ``pid``'s step."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p, a, worker, at in log_lines(log):
            if (p, a) == (pid, attempt):
                return worker, at
        time.sleep(0.0005)
    raise TimeoutError(f"attempt {attempt} of process {pid} never started in {timeout} s")


def one_kill(engine: Engine, log: Path, n: int) -> float:
    """Seconds from SIGKILL of the worker inside the step to the step's restart."""
    pid = engine.submit(BlockOnce, n=n)
    victim, _ = wait_for_line(log, pid, 1)
    killed_at = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    worker, resumed_at = wait_for_line(log, pid, 2)
    if worker == victim:
        raise AssertionError(f"attempt 2 of process {pid} ran in the killed worker {victim}")
    record = engine.wait(pid, timeout=30)
    if record.outputs != {"n": n}:
        raise AssertionError(f"process {pid} finished with {record.outputs}, expected n={n}")
    return resumed_at - killed_at
