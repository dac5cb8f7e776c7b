"""CPU seconds per component during a benchmark, read from ``/proc`` (Linux only).

Why: on a 2-core machine the submitter, the workers, PostgreSQL and RabbitMQ share the
same cores, so a throughput figure alone does not say what to make cheaper. CPU per
workflow by component does, and it depends far less on what else the machine is doing
than a wall-clock rate. Components are told apart by command line; processes that
start or end during the run are counted from their first or up to their last sighting.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

__all__ = ["CpuMeter"]

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _component(pid: int, me: int, cmdline: str) -> str | None:
    if pid == me:
        return "submitter+daemon"
    if "reference_engine.runtime" in cmdline and "worker" in cmdline:
        return "workers"
    if os.path.basename(cmdline.split(" ", 1)[0]).startswith("postgres"):
        return "postgres"  # the server and its backends ("postgres: user db ...")
    if "beam.smp" in cmdline and "rabbit" in cmdline:
        return "rabbitmq"
    return None


def _snapshot() -> dict[tuple[str, int], float]:
    me, out = os.getpid(), {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        name = _component(int(entry.name), me, cmdline)
        if name is not None:  # utime + stime are fields 14 and 15 of /proc/PID/stat
            out[(name, int(entry.name))] = (int(fields[11]) + int(fields[12])) / _TICK
    return out


class CpuMeter:
    """``start()``, run the workload, ``stop()``; then ``per_unit(n)`` in ms per unit."""

    def __init__(self) -> None:
        self.available = Path("/proc/self/stat").exists()
        self._before: dict[tuple[str, int], float] = {}
        self.seconds: Counter[str] = Counter()

    def start(self) -> None:
        self._before = _snapshot() if self.available else {}

    def stop(self) -> None:
        if not self.available:
            return
        for key, used in _snapshot().items():
            self.seconds[key[0]] += used - self._before.get(key, 0.0)

    def per_unit(self, n: int) -> str:
        """'workers 2.1, postgres 1.2, ... = total 5.0 ms CPU per workflow'."""
        if not self.available or n <= 0:
            return "CPU per component: not measured (needs Linux /proc)"
        parts = ", ".join(f"{k} {v * 1000 / n:.2f}" for k, v in sorted(self.seconds.items()))
        total = sum(self.seconds.values()) * 1000 / n
        return f"{parts} = total {total:.2f} ms CPU per workflow"
